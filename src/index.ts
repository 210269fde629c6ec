import './dirname-shim.js';
import * as core from '@actions/core';
import { run } from './main.js';
import { post } from './post.js';

// One bundle serves both phases (as actions/checkout does): the main step saves isPost in the state.
if (core.getState('isPost') === 'true') await post();
else await run();
