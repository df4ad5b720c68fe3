#!/usr/bin/env node
// A checked-in shim so installs never fail on a missing build: the real CLI lives in dist/.
import('../dist/cli.js');
