# The fallback build for machines without CMake: the CPU backend alone, through
# node-gyp (`npx node-gyp rebuild`). CMakeLists.txt (cmake-js) is the main build
# and the only one with CUDA.
{
  "targets": [
    {
      "target_name": "germ",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('cpp/core').filter(f=>f.endsWith('.cc')).map(f=>'cpp/core/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('cpp/cpu').filter(f=>f.endsWith('.cc')).map(f=>'cpp/cpu/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('cpp/backend').filter(f=>f.endsWith('.cc')).map(f=>'cpp/backend/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('cpp/ops').filter(f=>f.endsWith('.cc')).map(f=>'cpp/ops/'+f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('cpp/napi').filter(f=>f.endsWith('.cc')).map(f=>'cpp/napi/'+f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "."],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "GERM_CUDA_ARCHS=\"\""],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-frtti", "-fvisibility=hidden"],
      "ldflags": ["-pthread", "-static-libstdc++", "-static-libgcc"]
    }
  ]
}
