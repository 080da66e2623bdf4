#!/usr/bin/env node
// prebuildify runs `node-gyp rebuild --target=... --arch=... --release`; it has
// no cmake-js backend, so PREBUILD_NODE_GYP points here and this builds with
// cmake-js instead (incrementally: a Node-API addon does not depend on the
// target Node version). The arguments are accepted and ignored.
'use strict';
require('./build-native.js');
