// tern serve's request parsing alone (server/request.cpp): every malformed body
// is an ApiError naming the field, and a model without a chat format still
// serves completions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "server/request.h"
#include "tern/gguf.h"
#include "tern/synthetic_model.h"

namespace tern::server {
namespace {

namespace fs = std::filesystem;

class ServerRequest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        const std::string p = (fs::temp_directory_path() /
                               ("tern_request_test_" + std::to_string(::getpid()) + ".gguf"))
                                  .string();
        ModelShape shape = model_preset("tiny");
        shape.n_layer = 1;
        write_synthetic_model(p, shape, {});
        tokenizer_ = new Tokenizer(Tokenizer::from_gguf(gguf::File::open(p)));
        fs::remove(p);
    }
    static void TearDownTestSuite() { delete tokenizer_; }

    // The ApiError a body gets (status 0 if it parses).
    ApiError error_of(const std::string& body, bool chat, const ChatFormat* format) {
        const RequestContext c{*tokenizer_, format, "no chat format here", "m", 64};
        try {
            parse_completion_request(body, chat, c, 1);
        } catch (const ApiError& e) {
            return e;
        }
        return {0, "", ""};
    }

    static Tokenizer* tokenizer_;
    const ChatFormat llama3_ = chat_format("llama3");
};
Tokenizer* ServerRequest::tokenizer_ = nullptr;

TEST_F(ServerRequest, MalformedBodiesNameTheField) {
    struct Case {
        std::string body;
        bool chat;
        int status;
        std::string param;
    };
    const std::string deep = std::string(1 << 20, '[') + std::string(1 << 20, ']');
    for (const Case& c : std::vector<Case>{
             {"not json", false, 400, ""},
             {"[1]", false, 400, ""},
             {deep, false, 400, ""},
             {R"({"prompt": "hi", "stream_options": {"include_usage": "yes"}})", false, 400,
              "stream_options.include_usage"},
             {R"({"prompt": "hi", "stream_options": 3})", false, 400, "stream_options"},
             {R"({"prompt": [1, -2]})", false, 400, "prompt"},
             {R"({"prompt": [18446744073709551615]})", false, 400, "prompt"},
             {R"({"prompt": "hi", "seed": 18446744073709551615})", false, 400, "seed"},
             {R"({"prompt": "hi", "max_tokens": 1000})", false, 400, "max_tokens"},
             {R"({"messages": [{"role": "user", "content": [{"type": 5}]}]})", true, 400,
              "messages[0].content"},
             {R"({"messages": [{"role": "robot", "content": "x"}]})", true, 400,
              "messages[0].role"},
             {R"({"model": "other", "prompt": "hi"})", false, 400, "model"},
             {R"({"prompt": "hi", "max_tokens": 4, "stream": true})", false, 0, ""},
         }) {
        const ApiError e = error_of(c.body, c.chat, &llama3_);
        EXPECT_EQ(e.status, c.status) << c.body.substr(0, 80) << ": " << e.message;
        EXPECT_EQ(e.param, c.param) << c.body.substr(0, 80) << ": " << e.message;
    }
}

TEST_F(ServerRequest, WithoutAChatFormatCompletionsStillWork) {
    const ApiError chat =
        error_of(R"({"messages": [{"role": "user", "content": "x"}]})", true, nullptr);
    EXPECT_EQ(chat.status, 400);
    EXPECT_EQ(chat.message, "no chat format here");
    EXPECT_EQ(error_of(R"({"prompt": "x", "max_tokens": 2})", false, nullptr).status, 0);
}

}  // namespace
}  // namespace tern::server
