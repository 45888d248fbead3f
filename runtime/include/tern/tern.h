/* tern's C API: load a ternary GGUF model, tokenize, and generate for several
 * sequences at once, stepped together. For programs in C and for bindings from
 * other languages. Opaque handles; every function returns a status, and on an
 * error tern_last_error() gives the message (per thread). No exception crosses
 * this interface.
 *
 * Not thread-safe per engine: call an engine's functions from one thread at a
 * time; token callbacks run inside tern_step on the calling thread. */
#ifndef TERN_H
#define TERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_status {
    TERN_OK = 0,
    TERN_ERROR_INVALID_ARGUMENT = 1, /* a null pointer, a value out of range */
    TERN_ERROR_MODEL = 2,            /* the file could not be loaded */
    TERN_ERROR_REQUEST = 3,          /* a request that does not fit (context, tokens) */
    TERN_ERROR_NO_SLOT = 4,          /* every slot is busy: step until one frees */
    TERN_ERROR_BUFFER_TOO_SMALL = 5, /* the output did not fit; *n_out says how much is needed */
    TERN_ERROR_INTERNAL = 6
} tern_status;

/* The message of the last error on this thread ("" after success). */
const char* tern_last_error(void);

typedef struct tern_engine tern_engine;

/* Zero means the default for every field; options may be null. */
typedef struct tern_engine_options {
    int threads;        /* 0: every core */
    int context;        /* KV cache positions per slot (0: 2048) */
    int slots;          /* sequences at once (0: 1) */
    int prefill_chunk;  /* prompt tokens per sequence and step (0: 64) */
    int file_head;      /* 0: int8 LM head made at load (the default), 1: the file's precision */
    const char* bundle; /* kernel bundle, e.g. "x86-64-avx2" (null or "": the best this CPU
                           runs, or TERN_BUNDLE's) */
} tern_engine_options;

tern_status tern_engine_load(const char* path, const tern_engine_options* options,
                             tern_engine** engine);
void tern_engine_free(tern_engine* engine);

/* Text to token ids; BOS first when add_bos is non-zero; with parse_special,
 * control-token names in the text ("<|eot_id|>") become those tokens. */
tern_status tern_tokenize(tern_engine* engine, const char* text, int add_bos, int parse_special,
                          int32_t* tokens, size_t capacity, size_t* n_tokens);
/* The prompt of a chat in the model's format (its chat template): roles and
 * contents as parallel arrays, the assistant prompt appended. TERN_ERROR_MODEL
 * when the file's chat template is not one tern recognises (the engine still
 * loads, and completions work). */
tern_status tern_chat_prompt(tern_engine* engine, const char* const* roles,
                             const char* const* contents, size_t n_messages, char* text,
                             size_t capacity, size_t* n_bytes);

typedef struct tern_generation_params {
    int max_tokens;          /* 0: 128 */
    float temperature;       /* 0: greedy */
    int top_k;               /* 0: all */
    float top_p;             /* 0 or 1: all */
    float presence_penalty;  /* -2 .. 2 */
    float frequency_penalty; /* -2 .. 2 */
    uint64_t seed;
} tern_generation_params;

typedef enum tern_finish {
    TERN_FINISH_NONE = 0,
    TERN_FINISH_STOP,
    TERN_FINISH_LENGTH,
    TERN_FINISH_CANCELLED
} tern_finish;

/* Called inside tern_step for every sequence that produced final text: its id,
 * the token sampled (-1 if none), the text (not NUL-terminated, text_len
 * bytes), and when it ended, why (TERN_FINISH_NONE while it goes on). */
typedef void (*tern_token_callback)(void* user, int id, int32_t token, const char* text,
                                    size_t text_len, tern_finish finish);

/* Starts a sequence in a free slot; *id identifies it in callbacks. */
tern_status tern_submit(tern_engine* engine, const int32_t* prompt, size_t n_prompt,
                        const tern_generation_params* params, tern_token_callback callback,
                        void* user, int* id);
/* Ends a sequence at the next step. */
tern_status tern_cancel(tern_engine* engine, int id);
/* Runs one batch over every active sequence; *active (may be null) is the
 * number still active afterwards. */
tern_status tern_step(tern_engine* engine, int* active);

#ifdef __cplusplus
}
#endif

#endif /* TERN_H */
