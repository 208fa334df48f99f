// Shape: construction, numel, the matrix view (rows x cols), str() and the rank limit.
#include <cstdint>
#include <vector>

#include "test_util.h"

namespace {

using axon::Shape;
using axon_test::expect_error;

TEST(Shape, ScalarIsRankZeroWithOneElement) {
  const Shape s;
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.rows(), 1);
  EXPECT_EQ(s.cols(), 1);
  EXPECT_TRUE(s.dims().empty());
}

TEST(Shape, InitializerListDims) {
  const Shape s{2, 3, 5};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s[0], 2);
  EXPECT_EQ(s[1], 3);
  EXPECT_EQ(s[2], 5);
  EXPECT_EQ(s.numel(), 30);
  ASSERT_EQ(s.dims().size(), 3u);
  EXPECT_EQ(s.dims()[2], 5);
}

TEST(Shape, SpanConstructorMatchesInitializerList) {
  const std::vector<std::int64_t> dims{7, 1, 13};
  const Shape a{std::span<const std::int64_t>(dims)};
  const Shape b{7, 1, 13};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.numel(), 91);
}

TEST(Shape, Equality) {
  EXPECT_EQ((Shape{2, 3}), (Shape{2, 3}));
  EXPECT_FALSE((Shape{2, 3}) == (Shape{3, 2}));
  EXPECT_FALSE((Shape{6}) == (Shape{2, 3}));
  EXPECT_FALSE((Shape{2, 3}) == (Shape{2, 3, 1}));
  EXPECT_FALSE(Shape{} == (Shape{1}));
}

TEST(Shape, RowsAndColsFoldLeadingAxes) {
  EXPECT_EQ((Shape{7}).rows(), 1);
  EXPECT_EQ((Shape{7}).cols(), 7);
  EXPECT_EQ((Shape{5, 3}).rows(), 5);
  EXPECT_EQ((Shape{5, 3}).cols(), 3);
  EXPECT_EQ((Shape{2, 3, 5}).rows(), 6);
  EXPECT_EQ((Shape{2, 3, 5}).cols(), 5);
  EXPECT_EQ((Shape{2, 3, 5, 7}).rows(), 30);
  EXPECT_EQ((Shape{2, 3, 5, 7}).cols(), 7);
}

TEST(Shape, ZeroDimensions) {
  EXPECT_EQ((Shape{0}).numel(), 0);
  EXPECT_EQ((Shape{0, 3}).numel(), 0);
  EXPECT_EQ((Shape{0, 3}).rows(), 0);
  EXPECT_EQ((Shape{0, 3}).cols(), 3);
  EXPECT_EQ((Shape{3, 0}).numel(), 0);
  EXPECT_EQ((Shape{3, 0}).rows(), 3);
  EXPECT_EQ((Shape{3, 0}).cols(), 0);
}

TEST(Shape, Str) {
  EXPECT_EQ((Shape{2, 3}).str(), "[2, 3]");
  EXPECT_EQ((Shape{7}).str(), "[7]");
  EXPECT_EQ((Shape{1, 0, 4}).str(), "[1, 0, 4]");
  EXPECT_EQ(Shape{}.str(), "[]");
}

TEST(Shape, MaxRankIsAccepted) {
  const Shape s{1, 2, 1, 2, 1, 2, 1, 3};
  static_assert(Shape::kMaxRank == 8);
  EXPECT_EQ(s.rank(), Shape::kMaxRank);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.cols(), 3);
  EXPECT_EQ(s.rows(), 8);
}

TEST(Shape, RankAboveMaxThrows) {
  expect_error<axon::ShapeError>([] { Shape s{1, 1, 1, 1, 1, 1, 1, 1, 1}; (void)s; }, {"9"});
  const std::vector<std::int64_t> dims(Shape::kMaxRank + 3, 1);
  expect_error<axon::ShapeError>(
      [&] { Shape s{std::span<const std::int64_t>(dims)}; (void)s; }, {"11"});
}

}  // namespace
