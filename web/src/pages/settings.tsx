// Settings: the server-wide settings (GET/PATCH /settings), every one with
// its meaning; the API's field errors appear next to each box. Rotating the
// URL signing key is a separate, confirmed action.
import { useEffect, useState } from 'preact/hooks';
import { api, call, ApiError } from '../api';
import { Field, Form, PageHeader, confirm, toast, useForm } from '../ui';
import type { PageProps } from '../main';

interface SettingsDoc {
  server_name: string;
  public_url: string;
  timezone: string;
  default_max_connections: number;
  default_outputs: string[];
  trial_hours: number;
  epg_refresh_hours: number;
  signed_urls: number;
  signed_url_ttl: number;
  signed_url_bind_ip: number;
  signed_url_grace: number;
}

type FormValues = Omit<SettingsDoc, 'default_outputs' | 'signed_urls' | 'signed_url_bind_ip'> & {
  out_ts: boolean;
  out_m3u8: boolean;
  signed_urls: boolean;
  signed_url_bind_ip: boolean;
};

function toForm(s: SettingsDoc): FormValues {
  return {
    ...s,
    out_ts: s.default_outputs.includes('ts') || s.default_outputs.includes('mpegts'),
    out_m3u8: s.default_outputs.includes('m3u8') || s.default_outputs.includes('hls'),
    signed_urls: s.signed_urls === 1,
    signed_url_bind_ip: s.signed_url_bind_ip === 1,
  };
}

export function Settings({ me }: PageProps) {
  const [etag, setEtag] = useState<string | undefined>();
  const [loaded, setLoaded] = useState<SettingsDoc | null>(null);
  const form = useForm<FormValues>({} as FormValues);
  const canWrite = me.scopes.includes('admin');
  const load = () =>
    call<SettingsDoc>('GET', '/settings').then((a) => {
      setLoaded(a.data);
      setEtag(a.etag ?? undefined);
      form.setAll(toForm(a.data));
    });
  useEffect(() => {
    load().catch((e) => form.setError(e));
  }, []);

  const save = async (v: FormValues) => {
    if (!loaded) return;
    const outputs = [v.out_ts ? 'ts' : '', v.out_m3u8 ? 'm3u8' : ''].filter(Boolean);
    const next: SettingsDoc = {
      server_name: v.server_name,
      public_url: v.public_url,
      timezone: v.timezone,
      default_max_connections: v.default_max_connections,
      default_outputs: outputs,
      trial_hours: v.trial_hours,
      epg_refresh_hours: v.epg_refresh_hours,
      signed_urls: v.signed_urls ? 1 : 0,
      signed_url_ttl: v.signed_url_ttl,
      signed_url_bind_ip: v.signed_url_bind_ip ? 1 : 0,
      signed_url_grace: v.signed_url_grace,
    };
    // Send only what changed (a merge patch).
    const patch: Record<string, unknown> = {};
    for (const k of Object.keys(next) as (keyof SettingsDoc)[])
      if (JSON.stringify(next[k]) !== JSON.stringify(loaded[k])) patch[k] = next[k];
    if (Object.keys(patch).length === 0) {
      toast('Nothing changed', 'info');
      return;
    }
    const a = await call<SettingsDoc>('PATCH', '/settings', patch, { ifMatch: etag });
    setLoaded(a.data);
    setEtag(a.etag ?? undefined);
    form.setAll(toForm(a.data));
    toast('Settings saved');
  };

  const rotate = async () => {
    if (!(await confirm({ title: 'Rotate the signing key', message: 'Signed URLs made with the current key keep working only for the grace period. Rotate now?', confirmLabel: 'Rotate', danger: true }))) return;
    try {
      const r = await api<{ key_id: number; previous_key_grace: number }>('POST', '/settings/signing-key/rotate');
      toast(`New signing key ${r.key_id}; the previous one stays valid ${r.previous_key_grace} s`);
    } catch (e) {
      toast(e instanceof ApiError ? e.userMessage : String(e), 'error');
    }
  };

  return (
    <section class="page">
      <PageHeader title="Settings">{canWrite ? 'Changes apply at once.' : 'Read only: changing settings needs the admin scope.'}</PageHeader>
      {loaded && (
        <Form form={form} onSubmit={save} submitLabel="Save settings" label="Settings" class="settings-form">
          <fieldset disabled={!canWrite}>
            <legend>General</legend>
            <Field form={form} name="server_name" label="Server name" required hint="Shown in the panel and to players (server_info)." />
            <Field form={form} name="public_url" label="Public URL" type="url" placeholder="https://tv.example.com" hint="The base URL put in playlists; empty: from the request's Host header." />
            <Field form={form} name="timezone" label="Time zone" placeholder="UTC" hint="An IANA time zone, e.g. Europe/Paris." />
          </fieldset>
          <fieldset disabled={!canWrite}>
            <legend>New lines</legend>
            <Field form={form} name="default_max_connections" label="Default connection limit" type="number" min={0} hint="When neither the form nor a plan gives one." />
            <Field form={form} name="out_ts" label="MPEG-TS output allowed" type="checkbox" />
            <Field form={form} name="out_m3u8" label="HLS output allowed" type="checkbox" />
            <div class="field-error-slot">{form.fieldError('default_outputs') && <div class="field-error">{form.fieldError('default_outputs')}</div>}</div>
            <Field form={form} name="trial_hours" label="Trial length (hours)" type="number" min={0} hint="0: trial lines never expire by default." />
          </fieldset>
          <fieldset disabled={!canWrite}>
            <legend>Guide</legend>
            <Field form={form} name="epg_refresh_hours" label="Default guide refresh (hours)" type="number" min={1} max={168} />
          </fieldset>
          <fieldset disabled={!canWrite}>
            <legend>Signed stream URLs</legend>
            <Field form={form} name="signed_urls" label="Hand out signed, expiring stream URLs" type="checkbox" />
            <Field form={form} name="signed_url_ttl" label="Signed URL lifetime (seconds)" type="number" min={60} />
            <Field form={form} name="signed_url_bind_ip" label="Bind signed URLs to the client's network" type="checkbox" />
            <Field form={form} name="signed_url_grace" label="Previous key grace (seconds)" type="number" min={0} />
            {canWrite && (
              <button type="button" onClick={rotate}>
                Rotate signing key…
              </button>
            )}
          </fieldset>
        </Form>
      )}
    </section>
  );
}
