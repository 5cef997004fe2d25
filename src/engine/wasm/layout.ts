/**
 * Fixed layout of the first page of the shared WebAssembly memory: the control block through which
 * the main thread hands a job to the workers, and the job's arguments.
 *
 * Bytes (int32 words unless noted):
 *   0   generation: bumped by the main thread for each job (workers wait on it)
 *   4   done: number of workers that finished the current job
 *   8   opcode of the job (see `KERNELS` in kernels.ts); -1 tells workers to quit
 *   12  number of threads taking part (the main thread is thread 0)
 *   16  error flag: set by a worker whose kernel threw
 *   64  .. 255: up to 48 int32 arguments
 *   256 .. 1023: up to 96 float64 arguments
 *   1024 .. 4095: float64 partial results per chunk (sums reduced by the main thread, in chunk order)
 * The bump allocator starts after the first 64 KiB page.
 */
export const CTL_GEN = 0;
export const CTL_DONE = 1;
export const CTL_OP = 2;
export const CTL_NTH = 3;
export const CTL_ERR = 4;
/** Int32 index of the first integer argument. */
export const ARG_I32 = 16;
/** Room for integer arguments (int32 words 16 .. 63). */
export const ARG_I32_COUNT = 48;
/** Float64 index of the first float argument. */
export const ARG_F64 = 32;
/** Room for float arguments (float64 values 32 .. 127). */
export const ARG_F64_COUNT = 96;
/** Byte offset of the float64 partial results (up to 384 values). */
export const PARTIALS_BYTES = 1024;
/** First byte handed out by the allocator. */
export const HEAP_START = 65536;
/** Most threads a backend can use. */
export const MAX_THREADS = 64;
