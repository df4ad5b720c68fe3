// The official Keyv conformance suite against @dcache/core's LruCache, through DcacheMemoryStore.
import { LruCache } from '@dcache/core';
import keyvTestSuite, { keyvApiTests, keyvNamespaceTest, keyvValueTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';
import { DcacheMemoryStore } from '../src/index.js';

// One cache behind every store, as one in-process tier shared by an application's Keyv instances.
const cache = new LruCache<unknown>({ maxMemory: 16 * 1024 * 1024 });
const store = () => new DcacheMemoryStore(cache);

test.describe('keyvTestSuite', () => keyvTestSuite(test, Keyv, store));
test.describe('keyvApiTests', () => keyvApiTests(test, Keyv, store));
test.describe('keyvValueTests', () => keyvValueTests(test, Keyv, store));
test.describe('keyvNamespaceTest', () => keyvNamespaceTest(test, Keyv, store));
