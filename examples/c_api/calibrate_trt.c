/* mqcalib/examples/c_api/calibrate_trt.c: what a deployment tool author writes against the C API.
 *
 *   calibrate_trt MODEL.pt IMAGES-idx3-ubyte.gz SAMPLES OUT_DIR
 *
 * The tool owns its data loop: it reads the first SAMPLES images of a Fashion-MNIST IDX file itself
 * (zlib), preprocesses them as the model was trained ((x / 255 - 0.2860) / 0.3530), hands them to the
 * engine 64 at a time, calibrates for TensorRT with the KL observer, reads a few scales back, writes a
 * TensorRT calibration cache and the whole output set (params.json, report.json, ...) into OUT_DIR.
 * Built against the installed library: cc calibrate_trt.c $(pkg-config --cflags --libs mqcalib) -lz
 */
#include <mqcalib/mqcalib_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { kBatch = 64, kSide = 28 };

static uint32_t be32(const unsigned char* b) {
  return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

/* The first n images as floats, preprocessed; NULL on error (message printed). */
static float* read_idx_images(const char* path, int64_t n) {
  gzFile f = gzopen(path, "rb");
  unsigned char header[16];
  if (!f || gzread(f, header, 16) != 16 || be32(header) != 0x00000803u || be32(header + 8) != kSide ||
      be32(header + 12) != kSide || be32(header + 4) < (uint32_t)n) {
    fprintf(stderr, "calibrate_trt: %s is not an IDX file of at least %lld 28x28 images\n", path, (long long)n);
    if (f) gzclose(f);
    return NULL;
  }
  const size_t pixels = (size_t)n * kSide * kSide;
  unsigned char* raw = malloc(pixels);
  float* x = malloc(pixels * sizeof(float));
  if (!raw || !x || gzread(f, raw, (unsigned)pixels) != (int)pixels) {
    fprintf(stderr, "calibrate_trt: cannot read %lld images from %s\n", (long long)n, path);
    free(raw);
    free(x);
    gzclose(f);
    return NULL;
  }
  for (size_t i = 0; i < pixels; ++i) x[i] = ((float)raw[i] / 255.0f - 0.2860f) / 0.3530f;
  free(raw);
  gzclose(f);
  return x;
}

static int fail(mqc_pipeline* p, const char* what, mqc_status s) {
  fprintf(stderr, "calibrate_trt: %s: %s (%s)\n", what, mqc_last_error(p), mqc_status_name(s));
  mqc_pipeline_free(p);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s MODEL.pt IMAGES-idx3-ubyte.gz SAMPLES OUT_DIR\n", argv[0]);
    return 2;
  }
  const int64_t samples = atoll(argv[3]);
  if (samples < 1) return 2;
  float* x = read_idx_images(argv[2], samples);
  if (!x) return 1;
  printf("mqcalib %s (header %s)\n", mqc_version(), MQC_VERSION_STRING);

  mqc_pipeline* p = NULL;
  if (mqc_pipeline_create(argv[1], &p) != MQC_OK) {
    fprintf(stderr, "calibrate_trt: %s\n", mqc_create_error());
    free(x);
    return 1;
  }
  mqc_backend backend;
  mqc_status s = mqc_backend_from_name("tensorrt", &backend);
  if (s == MQC_OK) s = mqc_set_backend(p, backend);
  if (s == MQC_OK) s = mqc_set_observer(p, MQC_TARGET_ACTIVATIONS, MQC_OBSERVER_KL);
  if (s != MQC_OK) return fail(p, "settings", s);
  for (int64_t b = 0; b < samples; b += kBatch) {
    const int64_t n = samples - b < kBatch ? samples - b : kBatch;
    s = mqc_add_calibration_batch(p, x + b * kSide * kSide, n, 1, kSide, kSide);
    if (s != MQC_OK) return fail(p, "add batch", s);
  }
  free(x);
  if ((s = mqc_calibrate(p)) != MQC_OK) return fail(p, "calibrate", s);

  int64_t count = 0;
  mqc_tensor_count(p, &count);
  printf("%lld quantized tensors; activations:\n", (long long)count);
  for (int64_t i = 0; i < count; ++i) {
    mqc_tensor_info info;
    mqc_tensor_info_at(p, i, &info);
    if (info.role != MQC_ROLE_ACTIVATION) continue;
    float scale;
    int32_t zero_point;
    if ((s = mqc_tensor_params(p, i, &scale, &zero_point, 1)) != MQC_OK) return fail(p, "params", s);
    printf("  %-24s int%d scale %.9g zero point %d\n", info.name, info.bits, scale, zero_point);
  }
  char path[4096];
  snprintf(path, sizeof path, "%s.calib.cache", argv[4]);
  if ((s = mqc_write_file(p, "calib.cache", path)) != MQC_OK) return fail(p, "write calib.cache", s);
  if ((s = mqc_write_outputs(p, argv[4])) != MQC_OK) return fail(p, "write outputs", s);
  printf("wrote %s and %s/\n", path, argv[4]);
  mqc_pipeline_free(p);
  return 0;
}
