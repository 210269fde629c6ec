/* global self */
// Test-host service worker: present so static-file handling has a real file to carry.
self.addEventListener('install', () => self.skipWaiting());
