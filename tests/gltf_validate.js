// Validate a glTF / GLB file with the Khronos glTF validator; prints its report as JSON.
// Usage: node tests/gltf_validate.js FILE   (GLTF_VALIDATOR: the gltf-validator package folder)
const fs = require("fs");
const path = require("path");
const validator = require(process.env.GLTF_VALIDATOR || "gltf-validator");
const file = process.argv[2];
const readResource = (uri) => new Promise((resolve, reject) => {
  fs.readFile(path.resolve(path.dirname(file), decodeURIComponent(uri)), (err, data) => (err ? reject(err.toString()) : resolve(data)));
});
validator.validateBytes(new Uint8Array(fs.readFileSync(file)), { uri: path.basename(file), externalResourceFunction: readResource })
  .then((report) => console.log(JSON.stringify(report)), (error) => { console.error(String(error)); process.exit(2); });
