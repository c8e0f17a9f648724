// The navigation: one row per section. A later view (shadows, telemetry, rules, jobs and
// firmware) adds its row here and its routes in main.js; nothing else changes.
export const sections = [
  { href: '/devices', label: 'Devices', auth: 'user' },
  { href: '/devices/new', label: 'Register', auth: 'user' },
  { href: '/device-types', label: 'Types', auth: 'user' },
  { href: '/account', label: 'Account', auth: 'user' },
  { href: '/admin/users', label: 'Users', auth: 'admin' },
  { href: '/admin/devices', label: 'All devices', auth: 'admin' },
];
