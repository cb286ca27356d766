// Login: POST /auth/login; a 429 says how long to wait (Retry-After).
import { api, type Me } from '../api';
import { Field, Form, useForm } from '../ui';

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const form = useForm({ username: '', password: '' });
  return (
    <main class="login" id="main">
      <div class="login-card">
        <h1>xtreamd</h1>
        <p class="muted">Sign in to the panel</p>
        <Form
          form={form}
          label="Sign in"
          submitLabel="Sign in"
          onSubmit={async (v) => {
            const res = await api<Me>('POST', '/auth/login', v, { noAuthRedirect: true });
            const me = await api<Me>('GET', '/auth/me');
            onLogin({ ...me, csrf_token: res.csrf_token ?? me.csrf_token });
          }}
        >
          <Field form={form} name="username" label="Username" autoComplete="username" required />
          <Field form={form} name="password" label="Password" type="password" autoComplete="current-password" required />
        </Form>
      </div>
    </main>
  );
}
