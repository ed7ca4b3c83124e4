#pragma once
// Large matrix products through OpenBLAS (the build's BILEVEL_BLAS option, on by default), the rest
// through Eigen's own kernels.
//
// Why: on an AVX-512 machine measured here (docs/performance.md, "Products through OpenBLAS"),
// OpenBLAS's AVX-512 kernels ran the equilibrium model's products (200 x 784 by 784 x 256 and the
// like) 1.3-1.45x faster than Eigen's GEMM; on another (an Emerald Rapids) they ran at Eigen's rate.
// There its AVX2 kernels ("Haswell") ran at 0.55-0.8x of Eigen's AVX-512 GEMM, and "Prescott" (SSE3),
// which OpenBLAS 0.3.21 falls back to on CPUs newer than it knows (Emerald Rapids among them), at 0.2x.
// Where the build has no AVX-512, Eigen's GEMM is an AVX2 one too, and OpenBLAS's AVX2 kernels beat it:
// on a Zen 3, its "Zen" kernels 1.1-1.7x at those shapes in float (three runs), 1.1-1.75x in double,
// "Haswell" 1.55-1.6x in float (docs/performance.md, "OpenBLAS's AVX2 kernels without AVX-512"); the
// model's UL iteration ran 12-15 % faster. So multiply() calls
// OpenBLAS when the kernels it chose at load time are AVX-512 ones, or AVX2 ones (Haswell, Zen) in a
// build without AVX-512; else Eigen.
// OPENBLAS_CORETYPE in the environment overrides OpenBLAS's choice (OPENBLAS_CORETYPE=Cooperlake on
// such a newer CPU); blas_kernels() names what runs, so that a benchmark can say what it measured.
//
// Only the products that call multiply() or lower_gram() below go to OpenBLAS, and only above 100^3
// multiply-adds: up to that OpenBLAS 0.3.21 uses its "small-matrix" kernels on AVX-512 CPUs, some of
// which malloc a buffer in every call (the nn kernel, when the rows modulo 16 are 1 to 8 and the depth
// is 32 or more), and a hot loop allocates nothing (docs/performance.md, "Allocations in the hot loop").
// Eigen's products elsewhere (EIGEN_USE_BLAS would send all of them) keep their bits.
//
// One thread per call: the threads are bilevel's own (core/parallel.hpp): each chunk of a batch makes
// its own calls, so results do not depend on the thread count. OpenBLAS's own threads would split a
// product by the thread count, and inside bilevel's parallel loops they compete with them for the
// cores (a run with OpenBLAS's threads left on spent most of its time in sched_yield). The build links
// Debian's pthread variant, which locks its buffer pool, so concurrent calls from several threads are
// safe; it is set to one thread before main() runs, in every program that includes this header
// (types.hpp does).
#include <Eigen/Core>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#ifdef BILEVEL_OPENBLAS
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_corename(void);
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* beta, float* c, const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc);
}
#endif

namespace bilevel {

#ifdef BILEVEL_OPENBLAS
namespace detail {
// Initialised before main() in every program that includes this header.
inline const bool blas_single_threaded = (openblas_set_num_threads(1), true);

// Whether OpenBLAS chose kernels faster than this build's Eigen (see above): AVX-512 ones, or AVX2 ones
// where Eigen's vectors are no wider (no other kernels were measured faster; Sandybridge's AVX without
// FMA, the older AMD ones and Prescott stay with Eigen).
inline bool blas_is_fast() {
  static const bool fast = [] {
    const std::string_view core = openblas_get_corename();
    if (core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids") return true;
#if !defined(EIGEN_VECTORIZE_AVX512)
    if (core == "Haswell" || core == "Zen") return true;
#endif
    return false;
  }();
  return fast;
}

// Whether a product of this many multiply-adds goes to OpenBLAS: above its small-matrix kernels (which
// take up to 100^3, sgemm_small_kernel_permit), and only with the kernels above.
inline bool blas_takes(double multiply_adds) { return multiply_adds > 1e6 && blas_is_fast(); }
}  // namespace detail

inline std::string blas_kernels() {
  const std::string core = openblas_get_corename();
  if (detail::blas_is_fast()) return "OpenBLAS (" + core + " kernels) above 100^3 multiply-adds, Eigen below";
  // Say who picked the slow kernels: machines have been seen with OPENBLAS_CORETYPE=Haswell set in their
  // environment on CPUs whose own choice is an AVX-512 one (in a build with AVX-512, where Eigen's GEMM
  // is faster than OpenBLAS's AVX2 kernels).
  // (OpenBLAS ignores a name it does not know, and matches the others whatever their case.)
  const char* named = std::getenv("OPENBLAS_CORETYPE");
  const auto same_name = [&core](std::string_view n) {
    return n.size() == core.size() && std::equal(n.begin(), n.end(), core.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
  };
  const std::string who = named && same_name(named)
                              ? "OPENBLAS_CORETYPE=" + std::string(named) + " in the environment selects OpenBLAS's "
                              : "OpenBLAS chose its ";
  return "Eigen's own kernels (" + who + core +
         " kernels, slower than Eigen's; on a CPU with AVX-512, OPENBLAS_CORETYPE=SkylakeX selects its AVX-512 ones)";
}
#else
inline std::string blas_kernels() { return "Eigen's own kernels"; }
#endif

namespace detail {
// A BLAS operand: its data, leading dimension and whether BLAS must transpose it. A row-major matrix
// is the transpose of the column-major matrix its rows are the columns of.
template <class M>
struct BlasOperand {
  static_assert(int(std::decay_t<M>::Flags) & Eigen::DirectAccessBit, "multiply: operands must be stored matrices or blocks");
  explicit BlasOperand(const M& m) : data(m.data()), stride(static_cast<int>(m.outerStride())) {
    eigen_assert(m.innerStride() == 1);
  }
  static constexpr bool kTransposed = std::decay_t<M>::IsRowMajor;
  const typename std::decay_t<M>::Scalar* data;
  int stride;
};

template <class S>
constexpr bool kBlasScalar = std::is_same_v<S, float> || std::is_same_v<S, double>;

#ifdef BILEVEL_OPENBLAS
// C = A B or C += A B by OpenBLAS's GEMM, whatever kernels it chose (multiply() decides whether to
// call it; the tests call it directly, so that its operand mapping is checked on every machine).
template <class C, class A, class B>
void blas_multiply(C&& c, const A& a, const B& b, bool add) {
  using S = typename std::decay_t<C>::Scalar;
  static_assert(kBlasScalar<S> && !std::decay_t<C>::IsRowMajor, "blas_multiply: a column-major float or double result");
  eigen_assert(c.rows() == a.rows() && c.cols() == b.cols() && a.cols() == b.rows() && c.innerStride() == 1);
  const BlasOperand<A> oa(a);
  const BlasOperand<B> ob(b);
  const char ta = oa.kTransposed ? 'T' : 'N', tb = ob.kTransposed ? 'T' : 'N';
  const int m = static_cast<int>(c.rows()), n = static_cast<int>(c.cols()), k = static_cast<int>(a.cols());
  const int ldc = static_cast<int>(c.outerStride());
  const S one = 1, beta = add ? 1 : 0;
  if constexpr (std::is_same_v<S, float>)
    sgemm_(&ta, &tb, &m, &n, &k, &one, oa.data, &oa.stride, ob.data, &ob.stride, &beta, c.data(), &ldc);
  else
    dgemm_(&ta, &tb, &m, &n, &k, &one, oa.data, &oa.stride, ob.data, &ob.stride, &beta, c.data(), &ldc);
}

// The lower triangle of C = A^T A by OpenBLAS's SYRK (the upper one is left as it was).
template <class C, class A>
void blas_lower_gram(C&& c, const A& a) {
  using S = typename std::decay_t<C>::Scalar;
  static_assert(kBlasScalar<S> && !std::decay_t<C>::IsRowMajor, "blas_lower_gram: a column-major float or double result");
  eigen_assert(c.rows() == a.cols() && c.cols() == a.cols() && c.innerStride() == 1);
  const BlasOperand<A> oa(a);
  // Column-major A: A^T A is SYRK's 'T' form; a row-major A is M^T for the stored M, and A^T A = M M^T.
  const char trans = oa.kTransposed ? 'N' : 'T';
  const int n = static_cast<int>(a.cols()), k = static_cast<int>(a.rows()), ldc = static_cast<int>(c.outerStride());
  const S one = 1, zero = 0;
  if constexpr (std::is_same_v<S, float>) ssyrk_("L", &trans, &n, &k, &one, oa.data, &oa.stride, &zero, c.data(), &ldc);
  else dsyrk_("L", &trans, &n, &k, &one, oa.data, &oa.stride, &zero, c.data(), &ldc);
}
#endif
}  // namespace detail

// C = A B (add = false) or C += A B (add = true), for stored matrices and blocks of them (column- or
// row-major operands; A.transpose() of a stored matrix is one). Through OpenBLAS above 100^3
// multiply-adds when its kernels are faster than Eigen's (see above), else Eigen's product; either way no
// allocation.
template <class C, class A, class B>
void multiply(C&& c, const A& a, const B& b, bool add = false) {
  using S = typename std::decay_t<C>::Scalar;
  static_assert(!std::decay_t<C>::IsRowMajor, "multiply: the result must be column-major");
  eigen_assert(c.rows() == a.rows() && c.cols() == b.cols() && a.cols() == b.rows());
#ifdef BILEVEL_OPENBLAS
  if constexpr (detail::kBlasScalar<S>) {
    const double work = static_cast<double>(a.rows()) * static_cast<double>(b.cols()) * static_cast<double>(a.cols());
    if (detail::blas_takes(work)) return detail::blas_multiply(c, a, b, add);
  }
#endif
  if (add) c.noalias() += a * b;
  else c.noalias() = a * b;
}

// The lower triangle of the Gram matrix C = A^T A (the upper one is left as it was): a symmetric rank-k
// update, half the flops of the full product. Through OpenBLAS's SYRK on the terms of multiply()
// (equilibrium's 200 x 200 A: 59 us against 89 us for Eigen's rank update, a standalone program,
// 2026-12-07), else Eigen's.
template <class C, class A>
void lower_gram(C&& c, const A& a) {
  using S = typename std::decay_t<C>::Scalar;
  eigen_assert(c.rows() == a.cols() && c.cols() == a.cols());
#ifdef BILEVEL_OPENBLAS
  if constexpr (detail::kBlasScalar<S>) {
    const double work = static_cast<double>(a.cols()) * static_cast<double>(a.cols()) * static_cast<double>(a.rows());
    if (detail::blas_takes(work)) return detail::blas_lower_gram(c, a);
  }
#endif
  c.template triangularView<Eigen::Lower>().setZero();
  c.template selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
}

}  // namespace bilevel
