// The console's entry: signs in (local development mode needs nothing; token mode asks for an operator token,
// kept in sessionStorage for this tab only) and shows the page the location hash names.

import { ApiError, api, token } from './api.js';
import { el, notice, replace } from './dom.js';
import { startPolling, stopPolling } from './metrics.js';
import { executionView } from './views/execution.js';
import { executionsView } from './views/executions.js';
import { serviceView } from './views/service.js';
import { sessionsView } from './views/sessions.js';
import { workersView } from './views/workers.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const signOut = document.getElementById('sign-out');
let unmount = () => {};

function route() {
  unmount();
  const hash = location.hash || '#/executions';
  const execution = /^#\/executions\/(ex_[A-Za-z0-9_-]{22})$/.exec(hash);
  for (const link of nav.querySelectorAll('a')) {
    link.classList.toggle('active', hash.startsWith(link.getAttribute('href')));
  }
  if (execution) unmount = executionView(main, execution[1]);
  else if (hash === '#/sessions') unmount = sessionsView(main);
  else if (hash === '#/service') unmount = serviceView(main);
  else if (hash === '#/workers') unmount = workersView(main);
  else unmount = executionsView(main);
}

function askForToken(problem) {
  nav.hidden = true;
  signOut.hidden = true;
  replace(who);
  const input = el('input', {
    attrs: {
      type: 'password',
      name: 'token',
      autocomplete: 'off',
      required: true,
      'aria-label': 'operator token',
    },
  });
  replace(
    main,
    el(
      'form',
      {
        class: 'sign-in',
        on: {
          submit: (event) => {
            event.preventDefault();
            token.set(input.value.trim());
            signIn();
          },
        },
      },
      el('h2', {}, 'Operator token'),
      el(
        'p',
        {},
        'This server requires intent tokens. Paste an operator token (scope airlock:operator, of a tenant whose ' +
          'policy allows operators). It is kept in this tab only (sessionStorage).',
      ),
      problem ? notice('error', problem) : null,
      input,
      el('button', { attrs: { type: 'submit' } }, 'Open the console'),
    ),
  );
  input.focus();
}

async function signIn() {
  try {
    const stats = await api('/v1/stats');
    nav.hidden = false;
    signOut.hidden = stats.mode === 'local';
    replace(who, stats.mode === 'local' ? 'local development mode' : 'operator token');
    startPolling();
    window.addEventListener('hashchange', route);
    route();
  } catch (error) {
    const had = token.get() !== '';
    if (error instanceof ApiError && error.status === 403) {
      token.clear();
      askForToken(`This token may not open the console (403 ${error.code}): ${error.message}`);
    } else if (error instanceof ApiError && error.status === 401) {
      token.clear();
      askForToken(had ? `The token was refused (401): ${error.message}` : null);
    } else {
      replace(main, notice('error', `Airlock did not answer: ${error.message}`));
    }
  }
}

signOut.addEventListener('click', () => {
  token.clear();
  stopPolling();
  unmount();
  unmount = () => {};
  window.removeEventListener('hashchange', route);
  askForToken(null);
});

signIn();
