// Writes report.html of the full fixture RunReport (report_fixture.h) to argv[1], for the browser
// test (tests/report/test_report_browser.py).
#include <cstdio>

#include "export/atomic_file.h"
#include "export/report_html.h"
#include "report_fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: report_writer OUT.html\n");
    return 2;
  }
  mqcalib::write_file_atomic(argv[1], mqcalib::report_html(mqcalib::testing::full_run_report()));
  return 0;
}
