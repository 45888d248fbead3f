#include "jit_kernel.h"

#include "tern/error.h"

namespace tern::tune {

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
    info_.family = generator;
    info_.knobs = knobs;
    info_.entry = reinterpret_cast<KernelInfo::Entry>(module_.argv_function());
    if (!info_.entry) throw Error("JIT compile of " + name + " produced no entry point");
}

}  // namespace tern::tune
