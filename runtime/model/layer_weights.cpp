// See layer_weights.h. Layers load on the backend's threads, each decoding its
// tensors and repacking its stacks into one shared arena.
#include "model/layer_weights.h"

#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "tern/error.h"
#include "tern/gguf_tensors.h"

namespace tern {
namespace {

using gguf::TensorInfo;

// The ternary matrices of a layer as the architecture stacks them (its
// table row), in its order, sized for this model: each stacks its tensors'
// rows (parts) over k inputs.
struct StackShape {
    std::vector<LayerTensor> tensors;
    int k;
    std::vector<int> parts;  // rows of each tensor
};

std::vector<StackShape> stack_shapes(const Architecture& arch, const ModelWidths& widths) {
    std::vector<StackShape> out;
    for (const LinearStack& s : arch.stacks) {
        StackShape shape{s.tensors, widths(s.k), {}};
        for (Width w : s.rows) shape.parts.push_back(widths(w));
        out.push_back(shape);
    }
    return out;
}

}  // namespace

void TensorReader::fail(const std::string& what) const { throw Error(file_.path() + ": " + what); }

void TensorReader::check_finite(const float* v, int n, const std::string& name,
                                uint64_t row) const {
    for (int i = 0; i < n; ++i)
        if (!std::isfinite(v[i]))
            fail("tensor '" + name + "' row " + std::to_string(row) + " column " +
                 std::to_string(i) + " holds " + std::to_string(v[i]) +
                 "; weights must be finite numbers");
}

const TensorInfo& TensorReader::tensor(const std::string& name, std::vector<uint64_t> dims) const {
    const TensorInfo& t = file_.tensor(name);
    if (t.dims != dims)
        fail("tensor '" + name + "' has shape " + gguf::dims_text(t.dims) + ", expected " +
             gguf::dims_text(dims) + " (from the model's metadata)");
    return t;
}

std::vector<float> TensorReader::vector(const std::string& name, int n) const {
    const TensorInfo& t = tensor(name, {uint64_t(n)});
    // Norms are stored unquantised: one value per block.
    auto plain = [](const gguf::TypeTraits& r) { return !r.ternary && r.block_values == 1; };
    if (!plain(gguf::traits(t.type)))
        fail("tensor '" + name + "' is " + gguf::tensor_type_name(t.type) + ", expected " +
             gguf::type_names(plain));
    std::vector<float> out(n);
    gguf::decode_row(file_, t, 0, out.data());
    check_finite(out.data(), n, name, 0);
    return out;
}

namespace {

// The named k-column ternary tensors of ns rows each, stacked (see Linear) into
// `storage`.
Linear load_linear(const gguf::File& file, const std::vector<std::string>& names, int k,
                   const std::vector<int>& ns, const LinearPlan& plan, AlignedBytes storage) {
    const TensorReader reader(file);
    Linear l;
    std::vector<RowSource> sources;
    std::vector<const TensorInfo*> infos;
    int n_total = 0;
    for (size_t i = 0; i < names.size(); ++i) {
        const TensorInfo& t = reader.tensor(names[i], {uint64_t(k), uint64_t(ns[i])});
        gguf::TernaryTensor tt = gguf::ternary_tensor(file, t);
        l.parts.push_back({names[i], ns[i], tt.scale});
        sources.push_back(std::move(tt.rows));
        infos.push_back(&t);
        n_total += ns[i];
        if (tt.scale != l.parts.front().scale) l.scaled_in_kernel = false;
    }
    auto rows = [&](int row, int8_t* out) {
        size_t i = 0;
        for (; row >= l.parts[i].n; ++i) row -= l.parts[i].n;
        sources[i](row, out);
    };
    l.plan = plan;
    l.w = pack(n_total, k, l.scaled_in_kernel ? l.parts.front().scale : 1.0f, rows, l.plan.layout,
               std::move(storage));
    for (const TensorInfo* t : infos) file.release(*t);
    return l;
}

}  // namespace

LayerWeights::LayerWeights(const gguf::File& file, const ModelConfig& cfg, const Backend& backend,
                           WeightFormat weights, const std::function<void(int, int)>& progress) {
    const TensorReader reader(file);
    const ModelWidths widths(cfg);
    const std::vector<StackShape> stacks = stack_shapes(*cfg.arch, widths);

    // The plan of each stack (the same in every layer), and one zeroed buffer
    // for every layer's packed matrices, sliced per matrix in load order: the
    // huge-page padding of AlignedBytes is paid once (as 120 separate buffers,
    // 2B4T's 2-bit matrices carried 163 MiB of it).
    std::vector<LinearPlan> plans;
    std::vector<size_t> sizes;
    for (const StackShape& stack : stacks) {
        int n = 0;
        for (int part : stack.parts) n += part;
        plans.push_back(backend.bundle().plan_linear(stack.k, n, backend.threads(), weights));
        sizes.push_back(packed_shape(plans.back().layout, n, stack.k).bytes);
    }
    auto padded = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
    size_t layer_bytes = 0;
    for (size_t bytes : sizes) layer_bytes += padded(bytes);
    std::vector<AlignedBytes> storage;  // per layer and stack
    {
        const AlignedBytes arena(layer_bytes * cfg.n_layer);
        size_t offset = 0;
        for (int l = 0; l < cfg.n_layer; ++l)
            for (size_t bytes : sizes) {
                storage.push_back(arena.slice(offset, bytes));
                offset += padded(bytes);
            }
    }

    layers_.resize(cfg.n_layer);
    auto load_layer = [&](int l) {
        Layer& L = layers_[l];
        for (LayerTensor t : cfg.arch->layer_tensors)
            if (const auto w = norm_width(t))
                L.norms[static_cast<int>(t)] = reader.vector(tensor_name(l, t), widths(*w));
        L.stacks.resize(stacks.size());
        for (size_t i = 0; i < stacks.size(); ++i) {
            std::vector<std::string> names;
            for (LayerTensor t : stacks[i].tensors) names.push_back(tensor_name(l, t));
            L.stacks[i] = load_linear(file, names, stacks[i].k, stacks[i].parts, plans[i],
                                      storage[l * stacks.size() + i]);
            const std::optional<LayerTensor> norm = cfg.arch->stacks[i].norm;
            L.stacks[i].input_norm = norm ? L.norm(*norm) : std::vector<float>(stacks[i].k, 1.0f);
        }
    };

    // Layers are decoded and repacked on the backend's thread count; the first
    // error (in layer order of discovery) is rethrown.
    std::atomic<int> next{0}, done{0};
    std::mutex mu;
    std::exception_ptr error;
    auto worker = [&] {
        for (int l; (l = next++) < cfg.n_layer;) {
            try {
                load_layer(l);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                if (!error) error = std::current_exception();
                next = cfg.n_layer;
            }
            std::lock_guard<std::mutex> lock(mu);
            if (progress && !error) progress(++done, cfg.n_layer);
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::min(backend.threads(), cfg.n_layer); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

std::vector<Linear*> Layer::linears() {
    std::vector<Linear*> out;
    for (Linear& l : stacks) out.push_back(&l);
    return out;
}

std::vector<const Linear*> Layer::linears() const {
    std::vector<const Linear*> out;
    for (const Linear& l : stacks) out.push_back(&l);
    return out;
}

std::vector<Linear*> LayerWeights::linears() {
    std::vector<Linear*> out;
    for (Layer& L : layers_)
        for (Linear* l : L.linears()) out.push_back(l);
    return out;
}

std::vector<const Linear*> LayerWeights::linears() const {
    std::vector<const Linear*> out;
    for (const Layer& L : layers_)
        for (const Linear* l : L.linears()) out.push_back(l);
    return out;
}

void LayerWeights::plan_for_threads(const KernelSet& bundle, int threads, WeightFormat weights) {
    for (Linear* l : linears()) {
        const LinearPlan plan = bundle.plan_linear(l->w.k, l->w.n, threads, weights);
        if (can_read(*plan.gemv, l->w)) l->plan.gemv = plan.gemv;
        if (can_read(*plan.gemm, l->w)) l->plan.gemm = plan.gemm;
        l->plan.batch.clear();
        for (const KernelInfo* b : plan.batch)
            if (can_read(*b, l->w)) l->plan.batch.push_back(b);
    }
}

uint64_t LayerWeights::packed_bytes() const {
    uint64_t total = 0;
    for (const Linear* l : linears()) total += l->w.data.size();
    return total;
}

std::vector<std::pair<int, int>> linear_shapes(const Architecture& arch,
                                               const ModelWidths& widths) {
    std::vector<std::pair<int, int>> shapes;
    for (const StackShape& s : stack_shapes(arch, widths)) {
        int n = 0;
        for (int part : s.parts) n += part;
        shapes.emplace_back(s.k, n);
    }
    return shapes;
}

}  // namespace tern
