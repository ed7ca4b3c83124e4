// The checker itself must fail on wrong oracles, or every test that relies on it proves nothing.
#include "bilevel/problems/finite_difference.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "bilevel/problems/quadratic.hpp"

namespace bilevel {
namespace finite_difference_test {

enum class Bug { kNone, kMissingTranspose, kWrongSignLambda, kOuterGradientOff, kImpure };

// A problem that forwards to a correct one but breaks one oracle.
class Broken {
 public:
  using Scalar = double;
  Broken(Bug bug) : bug_(bug), p_(options()) {}
  static QuadraticOptions options() {
    QuadraticOptions o;
    o.dim_w = 6;
    o.dim_lambda = 3;
    return o;
  }
  Index dim_w() const { return p_.dim_w(); }
  Index dim_lambda() const { return p_.dim_lambda(); }
  Index ll_population() const { return 1; }
  Index ul_population() const { return 1; }
  bool jacobian_w_symmetric() const { return false; }
  const ConstraintSet<double>& constraint() const { return p_.constraint(); }
  void map(ConstVectorRef<double> w, ConstVectorRef<double> l, Batch b, VectorRef<double> out) const {
    p_.map(w, l, b, out);
    if (bug_ == Bug::kImpure) out(0) += static_cast<double>(++calls_);
  }
  void map_vjp_w(ConstVectorRef<double> w, ConstVectorRef<double> l, ConstVectorRef<double> u, Batch b,
                 VectorRef<double> out) const {
    if (bug_ != Bug::kMissingTranspose) return p_.map_vjp_w(w, l, u, b, out);
    // J u instead of J^T u, computed from the affine map.
    Vector<double> a(dim_w()), z(dim_w());
    p_.map(w + u, l, b, a);
    p_.map(w, l, b, z);
    out = a - z;
  }
  void map_vjp_lambda(ConstVectorRef<double> w, ConstVectorRef<double> l, ConstVectorRef<double> u, Batch b,
                      VectorRef<double> out) const {
    p_.map_vjp_lambda(w, l, u, b, out);
    if (bug_ == Bug::kWrongSignLambda) out = -out;
  }
  double outer(ConstVectorRef<double> w, ConstVectorRef<double> l, Batch b, Vector<double>* gw, Vector<double>* gl) const {
    const double v = p_.outer(w, l, b, gw, gl);
    if (bug_ == Bug::kOuterGradientOff && gw) (*gw)(1) *= 1.001;
    return v;
  }

 private:
  Bug bug_;
  QuadraticFixedPoint<double> p_;
  mutable int calls_ = 0;
};

const std::vector<SampleId> kOne{0};

bool passes(Bug bug) {
  Broken p(bug);
  return check_oracles(p, Vector<double>::Ones(6), Vector<double>::Ones(3), kOne, kOne).passed();
}

TEST(FiniteDifference, AcceptsCorrectOracles) { EXPECT_TRUE(passes(Bug::kNone)); }
TEST(FiniteDifference, CatchesAMissingTranspose) { EXPECT_FALSE(passes(Bug::kMissingTranspose)); }
TEST(FiniteDifference, CatchesAWrongSign) { EXPECT_FALSE(passes(Bug::kWrongSignLambda)); }
TEST(FiniteDifference, CatchesASmallGradientError) { EXPECT_FALSE(passes(Bug::kOuterGradientOff)); }
TEST(FiniteDifference, CatchesAnImpureOracle) { EXPECT_FALSE(passes(Bug::kImpure)); }

}  // namespace finite_difference_test
}  // namespace bilevel
