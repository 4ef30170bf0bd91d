// Reads the metadata_props of an ONNX model straight from the file (ONNX Runtime's JavaScript API
// does not expose them): a minimal protobuf wire-format walk over ModelProto, which keeps its
// metadata_props as field 14 (StringStringEntryProto: key = 1, value = 2) and skips everything else.
//
//   const {readMetadata} = require('./onnx_metadata');
//   const meta = readMetadata('policy.onnx');  // {"opsrl.version": "0.1.0", ...}
'use strict';
const fs = require('fs');

function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

// Calls visit(field, wireType, valueOrBytes) for every field of a message in buf[start, end).
function walk(buf, start, end, visit) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      visit(field, wire, v);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const n = Number(len);
      if (pos + n > end) throw new Error('truncated field');
      visit(field, wire, buf.subarray(pos, pos + n));
      pos += n;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}: not an ONNX model?`);
    }
  }
}

function readMetadata(path) {
  const buf = fs.readFileSync(path);
  const meta = {};
  walk(buf, 0, buf.length, (field, wire, bytes) => {
    if (field !== 14 || wire !== 2) return;  // ModelProto.metadata_props
    let key = '';
    let value = '';
    walk(bytes, 0, bytes.length, (f, w, b) => {
      if (w !== 2) return;
      if (f === 1) key = b.toString('utf8');
      if (f === 2) value = b.toString('utf8');
    });
    meta[key] = value;
  });
  return meta;
}

module.exports = {readMetadata};
