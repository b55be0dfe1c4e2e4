/** The exact (erf) GELU of torch.nn.GELU(), not the tanh approximation: x/2 * (1 + erf(x / sqrt(2))). */
export { gelu } from '../backend/kernels.js';
