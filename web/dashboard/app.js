// The dashboard's shell: sign-in, navigation by hash route, one view at a time.
import { api, session } from './api.js';
import { fill, h, link } from './dom.js';
import { accountView } from './views/account.js';
import { keysView } from './views/keys.js';
import { providersView } from './views/providers.js';
import { signInView } from './views/sign-in.js';
import { taskListView } from './views/task-list.js';
import { taskPageView } from './views/task-page.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
/** What the current view leaves running (its polling), stopped when another is shown. */
let stopCurrent = () => {};
/** Who is signed in: `{role, key}` from /dashboard/api/session. */
let viewer;

const routes = {
  tenant: { tasks: taskListView, task: taskPageView, account: accountView },
  operator: { tasks: taskListView, task: taskPageView, keys: keysView, providers: providersView },
};
const menus = {
  tenant: [['/tasks', 'Tasks'], ['/account', 'Credits']],
  operator: [['/tasks', 'Tasks'], ['/keys', 'Keys & credits'], ['/providers', 'Providers & switches']],
};

function signOut() {
  session.signOut();
  viewer = undefined;
  location.hash = '#/';
  show();
}

function header() {
  fill(nav, menus[viewer.role].map(([route, label]) => link(route, label)));
  const name = viewer.role === 'operator' ? 'operator (admin key)' : `${viewer.key.name} · ${viewer.key.prefix}…`;
  fill(who, h('span', { class: `role ${viewer.role}`, 'data-role': viewer.role }, name), ' ', h('button', { type: 'button', onclick: signOut }, 'Sign out'));
}

async function show() {
  stopCurrent();
  stopCurrent = () => {};
  if (!session.key()) {
    fill(nav);
    fill(who);
    stopCurrent = signInView(view, { onSignedIn: (found) => ((viewer = found), (location.hash = '#/tasks'), show()) }) ?? stopCurrent;
    return;
  }
  try {
    viewer ??= await api('/dashboard/api/session');
  } catch (error) {
    if (error.status === 401) return signOut();
    fill(view, h('p', { class: 'error' }, `Segue did not answer: ${error.message}`));
    return;
  }
  header();
  const [section = 'tasks', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const render = routes[viewer.role][section] ?? routes[viewer.role].tasks;
  fill(view);
  stopCurrent = render(view, { viewer, param: rest.map(decodeURIComponent).join('/'), signOut }) ?? stopCurrent;
}

window.addEventListener('hashchange', show);
show();
