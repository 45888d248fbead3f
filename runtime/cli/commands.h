// The tern commands; each parses its own flags (argv after the command name)
// and returns the process exit status.
#pragma once

namespace tern::cli {

int gen_model_command(int argc, char** argv);
int info_command(int argc, char** argv);
int run_command(int argc, char** argv);
int chat_command(int argc, char** argv);
int serve_command(int argc, char** argv);
int bench_command(int argc, char** argv);
int eval_command(int argc, char** argv);
int convert_command(int argc, char** argv);
int perplexity_command(int argc, char** argv);
int compare_heads_command(int argc, char** argv);
int embed_command(int argc, char** argv);
int tokenize_command(int argc, char** argv);

}  // namespace tern::cli
