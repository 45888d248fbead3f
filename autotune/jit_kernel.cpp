#include "jit_kernel.h"

#include "tern/error.h"

namespace tern::tune {

std::string describe_knobs(const std::map<std::string, int>& knobs) {
    std::string d;
    for (const auto& [key, value] : knobs)
        d += (d.empty() ? "" : " ") + key + "=" + std::to_string(value);
    return d;
}

JitKernel::JitKernel(const std::string& generator, const std::map<std::string, int>& knobs,
                     const Halide::Target& target, const std::string& name) {
    try {
        auto gen = Halide::Internal::GeneratorRegistry::create(
            generator, Halide::GeneratorContext(target.with_feature(Halide::Target::JIT)));
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
