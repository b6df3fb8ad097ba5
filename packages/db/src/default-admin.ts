/** The administrator the seed creates on a fresh database; the password must be changed at first login. */
export const DEFAULT_ADMIN_USERNAME = 'admin';
export const DEFAULT_ADMIN_PASSWORD = 'Admin123!';
