import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

// The proxy most projects write: default options, changeOrigin and the two
// headers. No authentication, no logging, no tuning.
const app = express();
app.use(
  createProxyMiddleware({
    target: process.env.BENCH_UPSTREAM_URL,
    changeOrigin: true,
    headers: {
      Authorization: `Bearer ${process.env.HEROKU_API_KEY}`,
      Accept: 'application/vnd.heroku+json; version=3',
    },
  }),
);
app.listen(Number(process.env.PORT), '127.0.0.1');
