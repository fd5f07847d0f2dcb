#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
require('../dist/cjs/cli.js').main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (e) => {
      console.error(`afterburner: ${e && e.message ? e.message : e}`);
      process.exit(1);
    });
