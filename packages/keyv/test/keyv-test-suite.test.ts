// The official Keyv conformance suite, run against three dcache nodes started through the CLI.
import { DistributedCacheClient } from '@dcache/client';
import keyvTestSuite, { keyvApiTests, keyvNamespaceTest, keyvValueTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';
import { DcacheKeyvStore } from '../src/index.js';
import { startNodes, stopNodes } from './cluster.js';

let client: DistributedCacheClient;

test.beforeAll(async () => {
  client = new DistributedCacheClient(await startNodes(3), { replicas: 2 });
});

test.afterAll(async () => {
  await client?.close();
  await stopNodes();
});

// Every store shares one client, as an application's stores would.
const store = () => new DcacheKeyvStore({ client });

test.describe('keyvTestSuite', () => keyvTestSuite(test, Keyv, store));
test.describe('keyvApiTests', () => keyvApiTests(test, Keyv, store));
test.describe('keyvValueTests', () => keyvValueTests(test, Keyv, store));
test.describe('keyvNamespaceTest', () => keyvNamespaceTest(test, Keyv, store));
