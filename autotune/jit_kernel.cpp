#include "jit_kernel.h"

#include "kernels/thread_pool.h"
#include "tern/error.h"

// LeakSanitizer, in the sanitizer build: Halide's JIT leaves IR nodes in
// reference cycles it never frees (all allocated inside libHalide). They are
// Halide's, not tern's; without this every tuner run would end in a report.
extern "C" const char* __lsan_default_suppressions() { return "leak:libHalide14.so\n"; }

namespace tern::tune {
namespace {

// JIT-compiled kernels link against Halide's JIT runtime, not the AOT runtime
// that pool_install() redirects, so their parallel loops would otherwise run on
// Halide's own pool, whose workers sleep between calls: candidates would be
// timed on other threads than the runtime gives the kernels built from them.
int jit_do_par_for(Halide::JITUserContext* context,
                   int (*task)(Halide::JITUserContext*, int, uint8_t*), int min, int size,
                   uint8_t* closure) {
    return pool_do_par_for(context, reinterpret_cast<halide_task_t>(task), min, size, closure);
}

void use_tern_pool_in_jit() {
    static const bool installed = [] {
        Halide::JITHandlers handlers;
        handlers.custom_do_par_for = jit_do_par_for;
        Halide::Internal::JITSharedRuntime::set_default_handlers(handlers);
        return true;
    }();
    (void)installed;
}

}  // namespace

std::string describe_knobs(const std::map<std::string, int>& knobs) {
    std::string d;
    for (const auto& [key, value] : knobs)
        d += (d.empty() ? "" : " ") + key + "=" + std::to_string(value);
    return d;
}

std::vector<std::string> load_autoschedulers() {
    static std::vector<std::string> names = [] {
        std::vector<std::string> out;
        std::string spec = TERN_AUTOSCHEDULER_PLUGINS;  // "Name=path,Name=path"
        size_t start = 0;
        while (start < spec.size()) {
            size_t end = spec.find(',', start);
            if (end == std::string::npos) end = spec.size();
            const std::string item = spec.substr(start, end - start);
            const size_t eq = item.find('=');
            if (eq != std::string::npos) {
                try {
                    Halide::load_plugin(item.substr(eq + 1));
                } catch (const Halide::Error& e) {
                    throw Error("cannot load autoscheduler " + item + ": " + e.what());
                }
                out.push_back(item.substr(0, eq));
            }
            start = end + 1;
        }
        return out;
    }();
    return names;
}

JitKernel::JitKernel(const std::string& generator, const std::map<std::string, int>& knobs,
                     const Halide::Target& target, const std::string& name,
                     const std::string& autoscheduler, int threads) {
    use_tern_pool_in_jit();
    try {
        const Halide::Target jit = target.with_feature(Halide::Target::JIT);
        Halide::MachineParams machine(threads, 32 << 20, 40);
        if (!autoscheduler.empty()) Halide::Pipeline::set_default_autoscheduler_name(autoscheduler);
        auto gen = Halide::Internal::GeneratorRegistry::create(
            generator, Halide::GeneratorContext(jit, !autoscheduler.empty(), machine));
        Halide::Internal::GeneratorParamsMap params;
        for (const auto& [key, value] : knobs) params[key] = std::to_string(value);
        gen->set_generator_param_values(params);
        const Halide::Module module = gen->build_module(name);
        module_ = Halide::Internal::JITModule(module, module.get_function_by_name(name));
    } catch (const Halide::Error& e) {
        throw Error("cannot compile " + generator + " [" + describe_knobs(knobs) +
                    "]: " + e.what());
    }
    info_.name = name;
    if (!find_family(generator, &info_.family)) throw Error("no kernel family '" + generator + "'");
    info_.knobs = knobs;
    info_.entry = reinterpret_cast<KernelInfo::Entry>(module_.argv_function());
    if (!info_.entry) throw Error("JIT compile of " + name + " produced no entry point");
}

}  // namespace tern::tune
