/* The C API from C: load a model, format a chat prompt, tokenize, generate for
 * two sequences stepped together, cancel one, and check the errors. Exits
 * non-zero on the first failure.
 *   c_api_test MODEL.gguf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/tern.h"

static int failures = 0;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            fprintf(stderr, "FAIL line %d: ", __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                  \
            fprintf(stderr, " (%s)\n", tern_last_error()); \
            ++failures;                                    \
        }                                                  \
    } while (0)

typedef struct {
    int tokens[2][64];
    int n[2];
    tern_finish finish[2];
    size_t text_bytes[2];
} record;

static void on_token(void* user, int id, int32_t token, const char* text, size_t len,
                     tern_finish finish) {
    record* r = (record*)user;
    (void)text;
    if (id < 0 || id > 1) return;
    if (token >= 0 && finish == TERN_FINISH_NONE && r->n[id] < 64)
        r->tokens[id][r->n[id]++] = token;
    r->text_bytes[id] += len;
    if (finish != TERN_FINISH_NONE) r->finish[id] = finish;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    tern_engine* engine = NULL;
    CHECK(tern_engine_load("/no/such/model.gguf", NULL, &engine) == TERN_ERROR_MODEL,
          "missing file");
    CHECK(strstr(tern_last_error(), "/no/such/model.gguf") != NULL, "error names the file");
    CHECK(engine == NULL, "no engine on error");

    tern_engine_options options = {0};
    options.threads = 1;
    options.context = 128;
    options.slots = 2;
    options.bundle = "x86-64-sse2";
    CHECK(tern_engine_load(argv[1], &options, &engine) == TERN_ERROR_MODEL, "unknown bundle");
    CHECK(strstr(tern_last_error(), "no bundle for target 'x86-64-sse2'") != NULL,
          "error names the bundle");
    options.bundle = NULL;
    CHECK(tern_engine_load(argv[1], &options, &engine) == TERN_OK, "load");
    if (!engine) return 1;

    const char* roles[] = {"system", "user"};
    const char* contents[] = {"Be brief.", "Hello"};
    char text[512];
    size_t n_bytes = 0;
    CHECK(tern_chat_prompt(engine, roles, contents, 2, text, sizeof text, &n_bytes) == TERN_OK,
          "chat prompt");
    CHECK(strstr(text, "Hello") != NULL && n_bytes == strlen(text), "chat prompt text: %s", text);
    CHECK(tern_chat_prompt(engine, roles, contents, 2, text, 4, &n_bytes) ==
              TERN_ERROR_BUFFER_TOO_SMALL,
          "small buffer");

    int32_t prompt[256];
    size_t n_prompt = 0;
    CHECK(tern_tokenize(engine, text, 1, 1, prompt, 256, &n_prompt) == TERN_OK && n_prompt > 2,
          "tokenize");

    /* Two sequences of the same prompt, greedy: the same tokens. */
    record r;
    memset(&r, 0, sizeof r);
    tern_generation_params params = {0};
    params.max_tokens = 6;
    int ids[3] = {-1, -1, -1};
    CHECK(tern_submit(engine, prompt, n_prompt, &params, on_token, &r, &ids[0]) == TERN_OK,
          "submit 0");
    CHECK(tern_submit(engine, prompt, n_prompt, &params, on_token, &r, &ids[1]) == TERN_OK,
          "submit 1");
    CHECK(
        tern_submit(engine, prompt, n_prompt, &params, on_token, &r, &ids[2]) == TERN_ERROR_NO_SLOT,
        "third submit: no slot");
    int active = 2, steps = 0;
    while (active > 0 && steps < 100) {
        CHECK(tern_step(engine, &active) == TERN_OK, "step");
        ++steps;
    }
    CHECK(ids[0] == 0 && ids[1] == 1, "ids %d %d", ids[0], ids[1]);
    CHECK(r.finish[0] == TERN_FINISH_LENGTH || r.finish[0] == TERN_FINISH_STOP, "finish 0: %d",
          r.finish[0]);
    CHECK(r.n[0] == r.n[1] && memcmp(r.tokens[0], r.tokens[1], sizeof(int) * r.n[0]) == 0,
          "both sequences give the same greedy tokens");

    /* Cancel: the callback ends with TERN_FINISH_CANCELLED. */
    record c;
    memset(&c, 0, sizeof c);
    int id = -1;
    params.max_tokens = 50;
    CHECK(tern_submit(engine, prompt, n_prompt, &params, on_token, &c, &id) == TERN_OK, "submit");
    CHECK(tern_step(engine, &active) == TERN_OK && active == 1, "one step");
    CHECK(tern_cancel(engine, id) == TERN_OK, "cancel");
    CHECK(tern_step(engine, &active) == TERN_OK && active == 0, "cancelled at the next step");

    /* Requests that do not fit. */
    params.max_tokens = 1000;
    CHECK(tern_submit(engine, prompt, n_prompt, &params, on_token, &r, &id) == TERN_ERROR_REQUEST &&
              strstr(tern_last_error(), "context") != NULL,
          "max_tokens over the context");
    int32_t bad = 1 << 30;
    params.max_tokens = 4;
    CHECK(tern_submit(engine, &bad, 1, &params, on_token, &r, &id) == TERN_ERROR_REQUEST,
          "token out of range");
    CHECK(tern_submit(NULL, prompt, n_prompt, &params, on_token, &r, &id) ==
              TERN_ERROR_INVALID_ARGUMENT,
          "null engine");
    tern_engine_free(engine);
    if (failures == 0) printf("c_api_test: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
