// Every layer's weights (internal to the runtime): the norms as floats, and the
// ternary matrices stacked as the architecture's table row says and repacked
// into the layouts the backend's kernels read. Loading checks every tensor's
// presence, shape, type and values; errors name the file and the tensor.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "tern/backend.h"
#include "tern/gguf.h"
#include "tern/model.h"

namespace tern {

// Ternary weight matrices that read the same input (Q, K and V; gate and up),
// stacked row-wise and repacked as one for the kernels chosen for the stacked
// shape: one kernel call instead of several, whose work divides evenly over
// threads where the small K and V matrices alone would not. A lone matrix is a
// stack of one. Each part keeps its tensor's scale; when the parts' scales
// differ the kernel runs with scale 1 and they are applied as the outputs are
// split.
struct Linear {
    struct Part {
        std::string name;
        int n = 0;
        float scale = 1.0f;
    };
    std::vector<Part> parts;
    // The RMSNorm weights of its input, applied before quantising (ones where
    // the architecture has no such norm: the normalisation stays).
    std::vector<float> input_norm;
    LinearPlan plan;
    PackedMatrix w;
    bool scaled_in_kernel = true;
    float part_scale(size_t i) const { return scaled_in_kernel ? 1.0f : parts[i].scale; }
};

struct Layer {
    // Norm weights other than the stacks' input norms, by LayerTensor: block,
    // per-head and post norms (empty where the architecture has none).
    std::array<std::vector<float>, kLayerTensors> norms;
    const std::vector<float>& norm(LayerTensor t) const { return norms[static_cast<int>(t)]; }
    std::vector<Linear> stacks;  // the architecture's stacks, in its order
    std::vector<Linear*> linears();
    std::vector<const Linear*> linears() const;
};

// A GGUF file's tensors read with the checks every weight gets; errors name
// the file and the tensor.
class TensorReader {
public:
    explicit TensorReader(const gguf::File& file) : file_(file) {}
    [[noreturn]] void fail(const std::string& what) const;
    // Weights must be finite: a NaN or infinity from a damaged file would
    // otherwise spread through every later activation (and quantising it to
    // int8 is undefined in C++).
    void check_finite(const float* v, int n, const std::string& name, uint64_t row) const;
    // The tensor, which must have these dimensions.
    const gguf::TensorInfo& tensor(const std::string& name, std::vector<uint64_t> dims) const;
    // A norm's n weights (stored unquantised).
    std::vector<float> vector(const std::string& name, int n) const;

private:
    const gguf::File& file_;
};

class LayerWeights {
public:
    // Every layer of the file, decoded and repacked on the backend's threads
    // (progress: layers done, of all); the first error is rethrown.
    LayerWeights(const gguf::File& file, const ModelConfig& cfg, const Backend& backend,
                 WeightFormat weights, const std::function<void(int, int)>& progress);

    int size() const { return static_cast<int>(layers_.size()); }
    const Layer& operator[](int l) const { return layers_[l]; }
    Layer& operator[](int l) { return layers_[l]; }
    // Every layer's stacked matrices.
    std::vector<Linear*> linears();
    std::vector<const Linear*> linears() const;

    // Picks the kernels tuned nearest `threads` where they read the matrices
    // as packed.
    void plan_for_threads(const KernelSet& bundle, int threads, WeightFormat weights);
    uint64_t packed_bytes() const;

private:
    std::vector<Layer> layers_;
};

}  // namespace tern
