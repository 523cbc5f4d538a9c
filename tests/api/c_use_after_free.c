/* mqcalib/tests/api/c_use_after_free.c: a C caller that uses a pipeline handle after mqc_pipeline_free
 * (issue 13). Built only with AddressSanitizer: the test (test_c_use_after_free.sh) expects ASan to stop
 * the process at the call with a heap-use-after-free report inside the library, which shows that the
 * handle's memory is really released by mqc_pipeline_free and that such a bug in a caller is caught.
 * usage: c_use_after_free MODEL.pt */
#include <mqcalib/mqcalib_c.h>
#include <stdio.h>

int main(int argc, char** argv) {
  mqc_pipeline* p = NULL;
  if (argc != 2) {
    fprintf(stderr, "usage: c_use_after_free MODEL.pt\n");
    return 2;
  }
  if (mqc_pipeline_create(argv[1], &p) != MQC_OK) {
    fprintf(stderr, "mqc_pipeline_create: %s\n", mqc_create_error());
    return 2;
  }
  if (mqc_set_backend(p, MQC_BACKEND_TENSORRT) != MQC_OK) {
    fprintf(stderr, "mqc_set_backend on a live handle: %s\n", mqc_last_error(p));
    return 2;
  }
  mqc_pipeline_free(p);
  fprintf(stderr, "handle freed; calling mqc_set_backend on it\n");
  const mqc_status s = mqc_set_backend(p, MQC_BACKEND_SNPE); /* the bug: ASan must stop here */
  fprintf(stderr, "use after free not caught (status %d)\n", (int)s);
  return 0;
}
