import './dirname-shim.js';
import { runnerState } from './edge/runner.js';
import { run } from './main.js';
import { post } from './post.js';

// One bundle serves both phases (as actions/checkout does): the main step saves isPost in the state.
if (runnerState.isPost()) await post();
else await run();
