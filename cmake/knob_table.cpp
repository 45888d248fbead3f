// Prints the kernel families and their knob names from knob_space.h as CMake
// `set` commands: the build validates schedule databases against them
// (TernBundles.cmake compiles and runs this at configure time).
#include <cstdio>

#include "tern/knob_space.h"

int main() {
    std::printf("set(TERN_GENERATOR_FAMILIES \"");
    bool first = true;
    for (tern::Family f : tern::kFamilies) {
        std::printf("%s%s", first ? "" : ";", tern::family_name(f));
        first = false;
    }
    std::printf("\")\n");
    for (tern::Family f : tern::kFamilies) {
        std::printf("set(TERN_KNOBS_%s \"", tern::family_name(f));
        first = true;
        for (const tern::Knob& k : tern::knob_space(f)) {
            std::printf("%s%s", first ? "" : ";", k.name.c_str());
            first = false;
        }
        std::printf("\")\n");
    }
    return 0;
}
