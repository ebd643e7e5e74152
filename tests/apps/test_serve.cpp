// tests/apps/test_serve.cpp — `nabla serve` (apps/serve.h): the models behind /api/run (a mask and an x2 upscale of
// the right sizes, clear errors for a non-image, a too large image and an unknown task), and the HTTP server itself
// on a free port: the page, a multipart upload, a bad upload (400 with the message), a too large body (413). The
// same page in a real browser: tests/apps/serve_browser.sh.
#include <httplib.h>

#include <future>
#include <thread>

#include "apps/serve.h"
#include "models/yolo/yolo.h"
#include "nn/data/image.h"
#include "nn/safetensors.h"
#include "support/support.h"

using namespace nabla::apps;

namespace {

std::string png_of(int64_t h, int64_t w) {
    Generator g(1);
    return data::encode_png(data::to_uint8(rand({3, h, w}, {}, &g)));
}

}  // namespace

TEST_CASE("serve: a mask and an x2 upscale of an upload; bad uploads are named errors", "[serve]") {
    manual_seed(0);
    ServeOptions o;
    o.max_upscale_pixels = 64 * 64;
    ServeModels models(o);
    const ServeResult mask = models.run("mask", png_of(30, 40), "a.png");
    const Tensor m = data::decode_image(reinterpret_cast<const uint8_t*>(mask.png.data()), mask.png.size());
    CHECK(m.shape() == Shape{1, 30, 40});
    CHECK(mask.width == 40);
    CHECK(mask.height == 30);
    const ServeResult up = models.run("upscale", png_of(20, 24), "b.png");
    const Tensor u = data::decode_image(reinterpret_cast<const uint8_t*>(up.png.data()), up.png.size());
    CHECK(u.shape() == Shape{3, 40, 48});
    CHECK(up.ms > 0);
    CHECK_THROWS_WITH(models.run("mask", "<html>not an image</html>", "page.html"),
                      Catch::StartsWith("read_image: page.html: not a PNG, JPEG or BMP file"));
    CHECK_THROWS_WITH(models.run("upscale", png_of(80, 80), "big.png"),
                      "big.png is 80x80 pixels; the upscale task takes at most 4096 pixels (about 64x64)");
    CHECK_THROWS_WITH(models.run("blur", png_of(8, 8), "c.png"),
                      "unknown task 'blur': choose mask, upscale, landmarks or boxes");
    CHECK_THROWS_WITH(models.run("upscale", png_of(4, 6), "tiny.png"),
                      "tiny.png is 6x4 pixels, too small to upscale (under 8 a side)");
}

TEST_CASE("serve: PFLD's landmarks drawn on a face crop; YOLOv5s boxes from given weights", "[serve]") {
    manual_seed(0);
    // YOLOv5s weights whose detection head fires everywhere (every output bias 5: objectness and class scores near
    // 1), so that NMS keeps boxes and the picture shows them: the path from --yolo-weights to the drawn boxes.
    models::YOLOv5 net("yolov5s", {});
    TensorMap state = net.state_dict();
    for (auto& [name, t] : state)
        if (name.starts_with("model.24.m.") && name.ends_with(".bias")) t.fill_(5.0);
    TempDir dir;
    save_safetensors(dir.file("yolo.safetensors"), state);
    ServeOptions o;
    o.yolo_weights = dir.file("yolo.safetensors");
    o.detect_size = 64;
    ServeModels models(o);
    const std::string input = png_of(48, 64);
    const Tensor in = data::decode_image(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    for (const std::string task : {"landmarks", "boxes"}) {
        INFO(task);
        const ServeResult r = models.run(task, input, "face.png");
        const Tensor out = data::decode_image(reinterpret_cast<const uint8_t*>(r.png.data()), r.png.size());
        REQUIRE(out.shape() == Shape{3, 48, 64});  // drawn on the upload, at its size
        // Something was drawn: the points (red) or the boxes changed pixels of the upload.
        CHECK(amax(abs(out.to(kFloat32) - in.to(kFloat32))).item<double>() > 0.2);
    }
}

TEST_CASE("serve: the HTTP server answers the page, an upload, a bad upload and a too large one", "[serve]") {
    ServeOptions o;
    o.port = 0;  // any free port
    o.max_upload_mb = 1;
    std::promise<int> ready;
    std::thread server([&] { serve(o, [&](int port) { ready.set_value(port); }); });
    const int port = ready.get_future().get();
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(120, 0);

    const auto page = client.Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK_THAT(page->body, Catch::Contains("<title>Nabla"));

    httplib::MultipartFormDataItems form{{"image", png_of(24, 32), "photo.png", "image/png"}, {"task", "mask", "", ""}};
    const auto ok = client.Post("/api/run", form);
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(ok->get_header_value("Content-Type") == "image/png");
    CHECK(ok->get_header_value("X-Nabla-Size") == "32x24");

    httplib::MultipartFormDataItems bad{{"image", "GIF89a...", "anim.gif", "image/gif"}, {"task", "mask", "", ""}};
    const auto refused = client.Post("/api/run", bad);
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK_THAT(refused->body, Catch::StartsWith("read_image: anim.gif: not a PNG, JPEG or BMP file"));

    httplib::MultipartFormDataItems huge{{"image", std::string(2 << 20, 'x'), "huge.png", "image/png"}};
    const auto too_large = client.Post("/api/run", huge);
    REQUIRE(too_large);
    CHECK(too_large->status == 413);

    const auto again = client.Post("/api/run", form);  // the server is still there after the bad requests
    REQUIRE(again);
    CHECK(again->status == 200);
    stop_serving();
    server.join();
}
