// SmoothQuant's migration scales (Xiao et al. 2023): per input channel j,
//   s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)
// so that X diag(s)^-1 has tamer outlier channels and W diag(s) absorbs them.
// As the reference implementation (smoothquant/smooth.py) does, max|W_j| and
// s are clamped to at least 1e-5. Use s with quantize(w.mul(s), ...) and
// quantizedLinear(x, wq, { smooth: s }).
import { describeValue } from '../dtype';
import { GermError } from '../errors';
import { absMax } from '../metrics/outliers';
import { clamp, div, pow, tensor } from '../ops';
import { Tensor, tensorArg } from '../tensor';

/**
 * s [in] (f32, on w's device) from the layer input's max |x| per channel
 * (calibration: e.g. OutlierStats' channelAbsMax) and its weight W [out, in].
 */
export function smoothQuantScales(actAbsMax: Tensor | Float32Array, w: Tensor, alpha = 0.5): Tensor {
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1))
    throw new GermError(`smoothQuantScales: alpha must be in [0, 1], got ${describeValue(alpha)}`, 'ERR_INVALID_ARGUMENT');
  if (!(actAbsMax instanceof Tensor) && !(actAbsMax instanceof Float32Array))
    throw new GermError(`smoothQuantScales: actAbsMax must be a Tensor or a Float32Array, got ${describeValue(actAbsMax)}`,
      'ERR_INVALID_ARGUMENT');
  tensorArg(w, 'smoothQuantScales', 'w');
  const k = w.shape[w.shape.length - 1];
  const n = actAbsMax instanceof Tensor ? actAbsMax.size : actAbsMax.length;
  if (w.ndim !== 2 || n !== k)
    throw new GermError(`smoothQuantScales: need W [out, in] and one activation maximum per input channel, got ` +
      `W [${w.shape}] and ${n} maxima`, 'ERR_SHAPE');
  const parts: Tensor[] = [];
  const keep = (t: Tensor): Tensor => (parts.push(t), t);
  try {
    let act = actAbsMax instanceof Tensor ? actAbsMax : keep(tensor(actAbsMax, [k], { device: w.device }));
    if (act.dtype !== 'f32') act = keep(act.cast('f32'));
    const wmax = keep(clamp(keep(absMax(w, 'channel')), 1e-5));
    return clamp(keep(div(keep(pow(act, alpha)), keep(pow(wmax, 1 - alpha)))), 1e-5);
  } finally {
    for (const t of parts) t.dispose();
  }
}
