// tests/deploy/run_ort.js: runs a QDQ ONNX model with ONNX Runtime's Node binding (CPU) on float32
// inputs from a .npy file, writes the first output as float32 .npy, and saves the graph ONNX Runtime
// actually executes (optimizedModelFilePath) so the test can check it runs integer kernels.
//
//   node run_ort.js <node_modules dir> <model.onnx> <inputs.npy> <outputs.npy> <optimized.onnx>
'use strict';
const fs = require('fs');
const path = require('path');

function readNpyF32(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const hlen = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'<f4'")) throw new Error(file + ': expected float32 (<f4)');
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const start = 10 + hlen;
  const data = new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
  return { shape, data };
}

function writeNpyF32(file, shape, data) {
  let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape.join(', ') + (shape.length === 1 ? ',' : '') + '), }';
  while ((10 + dict.length + 1) % 64 !== 0) dict += ' ';
  dict += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file + '.tmp', Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
  fs.renameSync(file + '.tmp', file);
}

async function main() {
  const [modulesArg, model, inputs, outputs, optimized] = process.argv.slice(2);
  const modules = path.resolve(modulesArg);
  const ort = require(path.join(modules, 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimized,
    intraOpNumThreads: 2,
    // int8 activations run as int8 (ONNX Runtime's default on ARM; on x86 it otherwise converts int8
    // QDQ pairs to uint8, which fails for tensors with several readers and leaves their convs in float)
    extra: { session: { qdqisint8allowed: '1' } },
  });
  const x = readNpyF32(inputs);
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = x.shape[0];
  const batch = 500;
  let out = null, outRow = 0, outShape = null;
  for (let b = 0; b < n; b += batch) {
    const m = Math.min(batch, n - b);
    const t = new ort.Tensor('float32', x.data.subarray(b * per, (b + m) * per), [m, ...x.shape.slice(1)]);
    const r = await session.run({ [session.inputNames[0]]: t });
    const y = r[session.outputNames[0]];
    if (!out) {
      outRow = y.data.length / m;
      outShape = [n, ...y.dims.slice(1)];
      out = new Float32Array(n * outRow);
    }
    out.set(y.data, b * outRow);
    if (b === 0) {  // further outputs (exposed codes): the first batch, one .npy each
      for (const name of session.outputNames.slice(1)) {
        const t = r[name];
        writeNpyF32(outputs + '.' + name + '.npy', t.dims, Float32Array.from(t.data));
      }
    }
  }
  writeNpyF32(outputs, outShape, out);
  console.log('onnxruntime-node ' + require(path.join(modules, 'onnxruntime-node', 'package.json')).version +
              ': ' + n + ' samples -> ' + outputs);
}

main().catch((e) => {
  console.error('run_ort.js: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
