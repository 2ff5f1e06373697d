#!/usr/bin/env node
// nsnet's command-line entry point: the compiled CLI (npm ci builds dist/).
import { cli } from '../dist/cli/main.js';

await cli();
