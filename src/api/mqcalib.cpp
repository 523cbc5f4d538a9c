// mqcalib/src/api/mqcalib.cpp: the public C++ API's conveniences (include/mqcalib/mqcalib.h):
// quantize() runs every stage of a Pipeline, evaluate() rebuilds a recorded simulation.
#include "mqcalib/mqcalib.h"

#include "api/options.h"
#include "api/thread_scope.h"
#include "backends/backend.h"
#include "calibrators/observer.h"
#include "core/error.h"
#include "export/record_files.h"
#include "pipeline/pipeline.h"

namespace mqcalib {

std::vector<std::string> available_observers() { return ObserverRegistry::instance().names(); }
std::vector<std::string> available_backends() { return backend_names(); }
std::vector<std::string> available_methods() { return method_names(); }
std::string version() { return MQCALIB_VERSION; }

QuantizeResult quantize(const QuantizeOptions& o) {
  Pipeline p(o);
  p.calibrate();
  if (o.eval) p.evaluate();
  if (o.verify) p.verify();
  if (!o.out_dir.empty()) p.write_outputs(o.out_dir);
  return p.result();
}

EvalSummary evaluate(const EvalOptions& o) {
  const ThreadScope threads(o.threads);
  if (o.batch_size <= 0) throw Error("--batch-size must be positive");
  if (o.eval.labels.empty()) throw Error("eval needs --eval-labels");
  const DataOptions data =
      with_record_preprocess(o.eval, load_record(o.params).provenance.preprocess, o.preprocess_from_record, o.params);
  const std::unique_ptr<Dataset> ev = open_dataset(data.path, to_preprocess(data));
  const RecordedSimulation rs = load_recorded_simulation(o.model, o.params, ev->sample_shape());
  const std::vector<int64_t> labels = load_labels(o.eval.labels);
  check_labels(*ev, labels, o.eval.labels);
  const int64_t total = o.eval_limit > 0 ? std::min(o.eval_limit, ev->size()) : ev->size();
  const EvalResult er =
      evaluate_top1(rs.model.graph, rs.simulation, labeled_batches(*ev, labels, o.eval_limit, o.batch_size),
                    o.eval.labels, [&](const std::string& phase, int64_t done, int64_t) {
                      if (o.progress) o.progress(phase, done, total);
                    });
  return EvalSummary{er.samples, er.fp_top1(), er.q_top1(), er.agreement()};
}

}  // namespace mqcalib
