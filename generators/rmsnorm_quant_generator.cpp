// Fused RMSNorm + int8 absmax quantiser: the input of every BitNet ternary matmul.
//   normed = x / sqrt(mean(x^2) + eps) * weight
//   q      = round(clamp(normed * 127 / max|normed|, -128, 127))   (half to even)
//   scale  = max|normed| / 127; a row whose normed values are all zero gives
//            q = 0, scale = 0.
// The two row reductions are split into 16 partial lanes (rfactor) so they
// vectorise; the reference sums in another order, so q may differ from it by one
// where a value sits on a rounding boundary.
#include "Halide.h"

namespace tern {

class RmsnormQuantGenerator : public Halide::Generator<RmsnormQuantGenerator> {
public:
    GeneratorParam<int> vector_width{"vector_width", 16};

    Input<Halide::Buffer<float>> x{"x", 2};            // (K, M)
    Input<Halide::Buffer<float>> weight{"weight", 1};  // (K)
    Input<float> eps{"eps"};
    Output<Halide::Buffer<int8_t>> q{"q", 2};         // (K, M)
    Output<Halide::Buffer<float>> scale{"scale", 1};  // (M)

    void generate() {
        using namespace Halide;
        Expr K = x.dim(0).extent();
        rk = RDom(0, K, "rk");
        sum_sq(m) = 0.0f;
        sum_sq(m) += x(rk, m) * x(rk, m);
        inv_rms(m) = 1.0f / sqrt(sum_sq(m) / cast<float>(K) + eps);
        normed(k, m) = x(k, m) * inv_rms(m) * weight(k);
        absmax(m) = 0.0f;
        absmax(m) = max(absmax(m), abs(normed(rk, m)));
        Expr s = select(absmax(m) > 0.0f, 127.0f / absmax(m), 0.0f);
        q(k, m) = cast<int8_t>(round(clamp(normed(k, m) * s, -128.0f, 127.0f)));
        scale(m) = absmax(m) / 127.0f;

        x.dim(0).set_min(0);
        weight.dim(0).set_min(0);
        q.dim(0).set_min(0);
        q.dim(0).set_extent(K);
        q.dim(1).set_extent(x.dim(1).extent());
        scale.dim(0).set_extent(x.dim(1).extent());
    }

    void schedule() {
        using namespace Halide;
        // Row reductions in vector_width partial lanes; reassociating the float
        // sum is intended (see the note at the top).
        for (Func* f : {&sum_sq, &absmax}) {
            RVar ro{"ro"}, ri{"ri"};
            Var u{"u"};
            Func partial = f->update().split(rk.x, ro, ri, vector_width).rfactor(ri, u);
            f->compute_root().parallel(m);
            partial.compute_at(*f, m).vectorize(u);
            partial.update().vectorize(u);
        }
        inv_rms.compute_root();
        q.vectorize(k, 32, TailStrategy::GuardWithIf).parallel(m);
        scale.compute_root();
    }

private:
    Var k{"k"}, m{"m"};
    Func sum_sq{"sum_sq"}, inv_rms{"inv_rms"}, normed{"normed"}, absmax{"absmax"};
    Halide::RDom rk;
};

}  // namespace tern

HALIDE_REGISTER_GENERATOR(tern::RmsnormQuantGenerator, rmsnorm_quant)
