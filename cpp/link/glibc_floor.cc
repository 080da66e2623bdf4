// Keeps the addon loadable on glibc 2.27+: glibc 2.29 gave pow() a new symbol
// version (same results, errno handling aside), and every call compiled
// against a newer glibc binds to it. The link wraps pow (-Wl,--wrap=pow in
// CMakeLists.txt) so that every caller, the static libstdc++ included, reaches
// the original x86-64 version, which every glibc still exports.
#include <cmath>  // defines __GLIBC__ where glibc is the C library

#if defined(__linux__) && defined(__x86_64__) && defined(__GLIBC__)
extern "C" double germ_pow_glibc_2_2_5(double, double);
__asm__(".symver germ_pow_glibc_2_2_5, pow@GLIBC_2.2.5");
extern "C" double __wrap_pow(double x, double y) { return germ_pow_glibc_2_2_5(x, y); }
#endif
