// tests/fuzz/stb_image_impl.cpp — stb_image's decoders compiled into fuzz_image, so that they are instrumented for
// coverage and ASan like the rest (Debian's libstb is not). An object file of the program wins over the shared
// libstb the library links, so nn/data/image.cpp calls these; the writers still come from libstb.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
