// tern tokenize: a model file's tokenizer on text (llama-tokenize's job): token
// ids and pieces, or the ids alone as JSON. Reads only the metadata, so it also
// runs on files that hold nothing but a vocabulary.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "arg_parser.h"
#include "commands.h"
#include "tern/error.h"
#include "tern/tokenizer.h"

namespace tern::cli {

int tokenize_command(int argc, char** argv) {
    ArgParser args("tokenize", "-m FILE (-p TEXT | -f FILE) [options]");
    args.option("model", "m", "FILE", "", "GGUF file (its tokenizer.ggml.* keys)");
    args.option("prompt", "p", "TEXT", "", "text to tokenise");
    args.option("file", "f", "FILE", "", "text file to tokenise (with --lines, each line alone)");
    args.flag("lines", "", "tokenise each line of -f alone, one output line each");
    args.flag("ids", "", "print the ids only, as a JSON array per text");
    args.flag("raw", "",
              "neither BOS nor EOS (default: as the file says: add_bos_token, add_eos_token)");
    args.flag("special", "", "names of control tokens in the text become those tokens");
    if (!args.parse(argc, argv)) return 0;
    args.require("model");
    if (args.str("prompt").empty() == args.str("file").empty())
        throw Error("tokenize: give one of -p TEXT or -f FILE");
    std::vector<std::string> texts;
    if (!args.str("prompt").empty()) {
        texts.push_back(args.str("prompt"));
    } else {
        std::ifstream in(args.str("file"), std::ios::binary);
        if (!in) throw Error(args.str("file") + ": cannot open");
        if (args.on("lines")) {
            for (std::string line; std::getline(in, line);) texts.push_back(line);
        } else {
            std::ostringstream all;
            all << in.rdbuf();
            texts.push_back(all.str());
        }
    }
    const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(args.str("model")));
    for (const std::string& text : texts) {
        const bool raw = args.on("raw");
        std::vector<int> ids = tok.encode(text, tok.add_bos() && !raw, args.on("special"));
        if (tok.add_eos() && !raw) ids.push_back(tok.eos());
        if (args.on("ids")) {
            std::string out = "[";
            for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
            std::printf("%s]\n", out.c_str());
            continue;
        }
        for (int id : ids) std::printf("%6d -> '%s'\n", id, tok.decode(id).c_str());
    }
    return 0;
}

}  // namespace tern::cli
