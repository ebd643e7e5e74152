// apps/pnp.cpp — solvePnP as OpenCV's ITERATIVE method computes it (a DLT start, then its Levenberg-Marquardt on
// the reprojection error), Rodrigues, and the Euler angles of a rotation.
#include "apps/pnp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/error.h"

namespace nabla::apps {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDeg = 180.0 / kPi;

}  // namespace

namespace {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<double, 9>;

// Eigen-decomposition of a symmetric n x n matrix (row-major; destroyed) by cyclic Jacobi rotations: eigenvalues in
// w, eigenvectors in the columns of v, both sorted by decreasing eigenvalue (as an SVD of a symmetric PSD matrix).
void symmetric_eigen(std::vector<double> a, int n, std::vector<double>& w, std::vector<double>& v) {
    std::vector<double> vec(static_cast<size_t>(n * n), 0.0);
    for (int i = 0; i < n; ++i) vec[i * n + i] = 1;
    auto at = [&](int r, int c) -> double& { return a[static_cast<size_t>(r * n + c)]; };
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0, diag = 0;
        for (int p = 0; p < n; ++p) {
            diag += at(p, p) * at(p, p);
            for (int q = p + 1; q < n; ++q) off += at(p, q) * at(p, q);
        }
        if (off <= 1e-32 * diag || off == 0) break;
        for (int p = 0; p < n; ++p)
            for (int q = p + 1; q < n; ++q) {
                if (at(p, q) == 0) continue;
                const double theta = (at(q, q) - at(p, p)) / (2 * at(p, q));
                const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
                const double c = 1 / std::sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; ++k) {
                    const double akp = at(k, p), akq = at(k, q);
                    at(k, p) = c * akp - s * akq, at(k, q) = s * akp + c * akq;
                }
                for (int k = 0; k < n; ++k) {
                    const double apk = at(p, k), aqk = at(q, k);
                    at(p, k) = c * apk - s * aqk, at(q, k) = s * apk + c * aqk;
                }
                for (int k = 0; k < n; ++k) {
                    double& vkp = vec[static_cast<size_t>(k * n + p)];
                    double& vkq = vec[static_cast<size_t>(k * n + q)];
                    const double x = vkp, y = vkq;
                    vkp = c * x - s * y, vkq = s * x + c * y;
                }
            }
    }
    std::vector<int> order(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](int x, int y) { return at(x, x) > at(y, y); });
    w.assign(static_cast<size_t>(n), 0);
    v.assign(static_cast<size_t>(n * n), 0);
    for (int j = 0; j < n; ++j) {
        w[j] = at(order[j], order[j]);
        for (int i = 0; i < n; ++i) v[static_cast<size_t>(i * n + j)] = vec[static_cast<size_t>(i * n + order[j])];
    }
}

// x = A^+ b for a symmetric positive semi-definite A (cv::solve with DECOMP_SVD).
std::vector<double> solve_symmetric(const std::vector<double>& a, const std::vector<double>& b, int n) {
    std::vector<double> w, v;
    symmetric_eigen(a, n, w, v);
    const double threshold = std::max(w[0], 0.0) * n * std::numeric_limits<double>::epsilon();
    std::vector<double> x(static_cast<size_t>(n), 0.0);
    for (int j = 0; j < n; ++j) {
        if (w[j] <= threshold) continue;
        double proj = 0;
        for (int i = 0; i < n; ++i) proj += v[i * n + j] * b[i];
        for (int i = 0; i < n; ++i) x[i] += v[i * n + j] * proj / w[j];
    }
    return x;
}

Mat3 matmul3(const Mat3& a, const Mat3& b) {
    Mat3 c{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) c[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
    return c;
}

double det3(const Mat3& m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

// The rotation nearest to m (U V^T of its SVD), for det(m) > 0.
Mat3 nearest_rotation(const Mat3& m) {
    std::vector<double> mtm(9, 0.0), w, v;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 3; ++k) mtm[i * 3 + j] += m[k * 3 + i] * m[k * 3 + j];
    symmetric_eigen(mtm, 3, w, v);
    Vec3 u[3];
    for (int j = 0; j < 2; ++j) {  // u_j = m v_j / sigma_j
        const double sigma = std::sqrt(std::max(w[j], 1e-300));
        for (int i = 0; i < 3; ++i)
            u[j][i] = (m[i * 3] * v[j] + m[i * 3 + 1] * v[3 + j] + m[i * 3 + 2] * v[6 + j]) / sigma;
    }
    Mat3 vm{};
    for (int i = 0; i < 9; ++i) vm[i] = v[i];
    const double sign = det3(vm) < 0 ? -1.0 : 1.0;  // det(U) det(V) = +1
    u[2] = {sign * (u[0][1] * u[1][2] - u[0][2] * u[1][1]), sign * (u[0][2] * u[1][0] - u[0][0] * u[1][2]),
            sign * (u[0][0] * u[1][1] - u[0][1] * u[1][0])};
    Mat3 r{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 3; ++k) r[i * 3 + j] += u[k][i] * v[j * 3 + k];
    return r;
}

// cv::Rodrigues, matrix -> vector.
Vec3 rotation_to_rvec(const Mat3& r) {
    Vec3 v = {r[7] - r[5], r[2] - r[6], r[3] - r[1]};
    const double s = std::sqrt((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) * 0.25);
    const double c = std::clamp((r[0] + r[4] + r[8] - 1) * 0.5, -1.0, 1.0);
    const double theta = std::acos(c);
    if (s >= 1e-5) {
        const double k = theta / (2 * s);
        return {v[0] * k, v[1] * k, v[2] * k};
    }
    if (c > 0) return {0, 0, 0};
    v[0] = std::sqrt(std::max((r[0] + 1) * 0.5, 0.0));
    v[1] = std::sqrt(std::max((r[4] + 1) * 0.5, 0.0)) * (r[1] < 0 ? -1.0 : 1.0);
    v[2] = std::sqrt(std::max((r[8] + 1) * 0.5, 0.0)) * (r[2] < 0 ? -1.0 : 1.0);
    if (std::abs(v[0]) < std::abs(v[1]) && std::abs(v[0]) < std::abs(v[2]) && (r[5] > 0) != (v[1] * v[2] > 0))
        v[2] = -v[2];
    const double k = theta / std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    return {v[0] * k, v[1] * k, v[2] * k};
}

// cv::Rodrigues, vector -> matrix, with dR[k]/dr[i] in jac[i * 9 + k].
Mat3 rodrigues_jacobian(const Vec3& rvec, std::array<double, 27>* jac) {
    const double theta = std::sqrt(rvec[0] * rvec[0] + rvec[1] * rvec[1] + rvec[2] * rvec[2]);
    if (theta < std::numeric_limits<double>::epsilon()) {
        if (jac) {
            jac->fill(0);
            (*jac)[5] = (*jac)[15] = (*jac)[19] = -1;
            (*jac)[7] = (*jac)[11] = (*jac)[21] = 1;
        }
        return {1, 0, 0, 0, 1, 0, 0, 0, 1};
    }
    const double c = std::cos(theta), s = std::sin(theta), c1 = 1 - c, itheta = 1 / theta;
    const double x = rvec[0] * itheta, y = rvec[1] * itheta, z = rvec[2] * itheta;
    const double rrt[9] = {x * x, x * y, x * z, x * y, y * y, y * z, x * z, y * z, z * z};
    const double rx[9] = {0, -z, y, z, 0, -x, -y, x, 0};
    const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    Mat3 r{};
    for (int k = 0; k < 9; ++k) r[k] = c * eye[k] + c1 * rrt[k] + s * rx[k];
    if (jac) {
        const double drrt[27] = {x + x, y, z, y, 0, 0, z, 0, 0, 0, x, 0, x,    y + y,
                                 z,     0, z, 0, 0, 0, x, 0, 0, y, x, y, z + z};
        const double drx[27] = {0, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 1, 0, 0, 0, -1, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0};
        for (int i = 0; i < 3; ++i) {
            const double ri = i == 0 ? x : i == 1 ? y : z;
            const double a0 = -s * ri, a1 = (s - 2 * c1 * itheta) * ri, a2 = c1 * itheta;
            const double a3 = (c - s * itheta) * ri, a4 = s * itheta;
            for (int k = 0; k < 9; ++k)
                (*jac)[i * 9 + k] = a0 * eye[k] + a1 * rrt[k] + a2 * drrt[i * 9 + k] + a3 * rx[k] + a4 * drx[i * 9 + k];
        }
    }
    return r;
}

struct Camera {
    double f, cx, cy;
};

// Reprojection errors (projected - observed, 2N) at params = (rvec, tvec), and their Jacobian (2N x 6) when asked.
void reproject(const std::vector<Vec3>& object, const std::vector<Point2>& image, const Camera& cam,
               const std::array<double, 6>& params, std::vector<double>& err, std::vector<double>* jac) {
    std::array<double, 27> dr{};
    const Mat3 r = rodrigues_jacobian({params[0], params[1], params[2]}, jac ? &dr : nullptr);
    const size_t n = object.size();
    err.assign(2 * n, 0.0);
    if (jac) jac->assign(12 * n, 0.0);
    for (size_t i = 0; i < n; ++i) {
        const Vec3& m = object[i];
        const double x = r[0] * m[0] + r[1] * m[1] + r[2] * m[2] + params[3];
        const double y = r[3] * m[0] + r[4] * m[1] + r[5] * m[2] + params[4];
        const double z = r[6] * m[0] + r[7] * m[1] + r[8] * m[2] + params[5];
        const double iz = 1 / z;
        err[2 * i] = cam.f * x * iz + cam.cx - image[i][0];
        err[2 * i + 1] = cam.f * y * iz + cam.cy - image[i][1];
        if (!jac) continue;
        double* ju = jac->data() + 12 * i;
        double* jv = ju + 6;
        for (int k = 0; k < 3; ++k) {
            const double* d = dr.data() + 9 * k;
            const double dx = d[0] * m[0] + d[1] * m[1] + d[2] * m[2];
            const double dy = d[3] * m[0] + d[4] * m[1] + d[5] * m[2];
            const double dz = d[6] * m[0] + d[7] * m[1] + d[8] * m[2];
            ju[k] = cam.f * (dx * z - x * dz) * iz * iz;
            jv[k] = cam.f * (dy * z - y * dz) * iz * iz;
        }
        ju[3] = cam.f * iz, ju[4] = 0, ju[5] = -cam.f * x * iz * iz;
        jv[3] = 0, jv[4] = cam.f * iz, jv[5] = -cam.f * y * iz * iz;
    }
}

double norm(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}

// OpenCV's non-planar start: the 3x4 [R|t] (up to scale) minimising the algebraic error on normalised image points,
// its 3x3 part replaced by the nearest rotation.
std::array<double, 6> dlt_start(const std::vector<Vec3>& object, const std::vector<Point2>& normalised) {
    std::vector<double> ll(144, 0.0);
    for (size_t i = 0; i < object.size(); ++i) {
        const Vec3& m = object[i];
        const double rows[2][12] = {{m[0], m[1], m[2], 1, 0, 0, 0, 0, -normalised[i][0] * m[0],
                                     -normalised[i][0] * m[1], -normalised[i][0] * m[2], -normalised[i][0]},
                                    {0, 0, 0, 0, m[0], m[1], m[2], 1, -normalised[i][1] * m[0],
                                     -normalised[i][1] * m[1], -normalised[i][1] * m[2], -normalised[i][1]}};
        for (const auto& row : rows)
            for (int a = 0; a < 12; ++a)
                for (int b = 0; b < 12; ++b) ll[a * 12 + b] += row[a] * row[b];
    }
    std::vector<double> w, v;
    symmetric_eigen(ll, 12, w, v);
    std::array<double, 12> p{};
    for (int a = 0; a < 12; ++a) p[a] = v[a * 12 + 11];  // the eigenvector of the smallest eigenvalue
    Mat3 rr = {p[0], p[1], p[2], p[4], p[5], p[6], p[8], p[9], p[10]};
    Vec3 t = {p[3], p[7], p[11]};
    if (det3(rr) < 0) {
        for (double& x : rr) x = -x;
        for (double& x : t) x = -x;
    }
    double sc = 0;
    for (double x : rr) sc += x * x;
    sc = std::sqrt(sc);
    NB_CHECK_VALUE(sc > std::numeric_limits<double>::epsilon(), "solve_pnp: degenerate points (DLT has no solution)");
    const Mat3 r = nearest_rotation(rr);
    const Vec3 rvec = rotation_to_rvec(r);
    const double k = std::sqrt(3.0) / sc;
    return {rvec[0], rvec[1], rvec[2], t[0] * k, t[1] * k, t[2] * k};
}

}  // namespace

PnPResult solve_pnp(const std::vector<std::array<double, 3>>& object, const std::vector<Point2>& image, double focal,
                    double cx, double cy) {
    NB_CHECK_VALUE(object.size() == image.size() && object.size() >= 6,
                   "solve_pnp: need as many image points as object points, at least 6; got ", object.size(), " and ",
                   image.size());
    const Camera cam{focal, cx, cy};
    std::vector<Point2> normalised(image.size());
    for (size_t i = 0; i < image.size(); ++i) normalised[i] = {(image[i][0] - cx) / focal, (image[i][1] - cy) / focal};
    std::array<double, 6> param = dlt_start(object, normalised), prev{};

    // CvLevMarq: lambda = 10^-3 to start, the diagonal scaled by (1 + lambda), a step undone and lambda raised tenfold
    // while the error grows, at most 20 iterations, stop when the relative parameter change is below FLT_EPSILON.
    int lambda_lg10 = -3;
    std::vector<double> err, jac, jtj(36), jte(6);
    double prev_err_norm = 0;
    auto step = [&] {
        std::vector<double> a = jtj;
        const double lambda = std::pow(10.0, lambda_lg10);
        for (int i = 0; i < 6; ++i) a[i * 6 + i] *= 1 + lambda;
        const std::vector<double> d = solve_symmetric(a, jte, 6);
        for (int i = 0; i < 6; ++i) param[i] = prev[i] - d[i];
    };
    for (int iter = 0;; ++iter) {
        reproject(object, image, cam, param, err, &jac);
        const size_t rows = err.size();
        for (int a = 0; a < 6; ++a) {
            jte[a] = 0;
            for (size_t r = 0; r < rows; ++r) jte[a] += jac[r * 6 + a] * err[r];
            for (int b = 0; b < 6; ++b) {
                double s = 0;
                for (size_t r = 0; r < rows; ++r) s += jac[r * 6 + a] * jac[r * 6 + b];
                jtj[a * 6 + b] = s;
            }
        }
        prev = param;
        if (iter == 0) prev_err_norm = norm(err);
        step();
        reproject(object, image, cam, param, err, nullptr);
        double err_norm = norm(err);
        while (err_norm > prev_err_norm && ++lambda_lg10 <= 16) {
            step();
            reproject(object, image, cam, param, err, nullptr);
            err_norm = norm(err);
        }
        lambda_lg10 = std::max(lambda_lg10 - 1, -16);
        double change = 0, base = 0;
        for (int i = 0; i < 6; ++i) change += (param[i] - prev[i]) * (param[i] - prev[i]), base += prev[i] * prev[i];
        if (iter + 1 >= 20 || std::sqrt(change) < std::numeric_limits<float>::epsilon() * std::sqrt(base)) break;
        prev_err_norm = err_norm;
    }
    reproject(object, image, cam, param, err, nullptr);
    return {{param[0], param[1], param[2]},
            {param[3], param[4], param[5]},
            norm(err) / std::sqrt(static_cast<double>(image.size()))};
}

std::array<double, 9> rodrigues(const std::array<double, 3>& rvec) { return rodrigues_jacobian(rvec, nullptr); }

EulerAngles rotation_to_euler(const std::array<double, 9>& r) {
    return {std::atan2(r[7], r[8]) * kDeg, std::atan2(-r[6], std::hypot(r[7], r[8])) * kDeg,
            std::atan2(r[3], r[0]) * kDeg};
}

std::array<double, 9> euler_to_rotation(const EulerAngles& e) {
    const double a = e.pitch / kDeg, b = e.yaw / kDeg, c = e.roll / kDeg;
    const Mat3 rx = {1, 0, 0, 0, std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a)};
    const Mat3 ry = {std::cos(b), 0, std::sin(b), 0, 1, 0, -std::sin(b), 0, std::cos(b)};
    const Mat3 rz = {std::cos(c), -std::sin(c), 0, std::sin(c), std::cos(c), 0, 0, 0, 1};
    return matmul3(rz, matmul3(ry, rx));
}

}  // namespace nabla::apps
