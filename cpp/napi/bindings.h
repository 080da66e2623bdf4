#pragma once
#include <napi.h>

namespace germ::napi {
void register_bindings(Napi::Env env, Napi::Object exports);
// outlier statistics (stats_bindings.cc)
void register_stats_bindings(Napi::Env env, Napi::Object exports);
// quantize / dequantize / NF4 (quant_bindings.cc)
void register_quant_bindings(Napi::Env env, Napi::Object exports);
// devices, buildInfo, cudaDeviceReport (status_bindings.cc)
void register_status_bindings(Napi::Env env, Napi::Object exports);
// quantized GEMMs (qgemm_bindings.cc)
void register_qgemm_bindings(Napi::Env env, Napi::Object exports);
}
