//! The simulator's fixed key material.
//!
//! TEST-ONLY KEYS. They were generated once with `openssl` for this simulator and are published
//! in the source: never trust them anywhere but in a local test. The RSA pair signs the
//! simulator's JWTs (its public half is every binding's `uaa.verificationkey`); the self-signed
//! certificate and key are handed out as the `certificate`/`key` of simulated X.509 credentials.

/// Private key signing every simulated token (PKCS#8 PEM). Test only.
pub(crate) const JWT_PRIVATE_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDRbTDjXI2vUiZ0\n\
xP2CEsVpZN4GkpW9C1DZRxkndlMeJ5GPAAIbw6aNbTkrdKcq+DjC4QEs9duQrFf6\n\
4JCWQ4JkXa0kWLK8YoMUtd/Mf/6uHtVbnVbInyooZKlI1ky36IjiW1T88FNVzbau\n\
k8g6uAQkc/FPhcpbnzIR/jQT7cHei3mFBMdZiZyyFjBDaoaWcfeo/XkmdOXVDxF4\n\
g4uvIlMdrPLEtQq2c5utEDPgKHoH3Ha/5Ikvv/rR9wUpreKQWor63ZujAiZNyB+t\n\
viKBRqc9FXwkJWAB6v8SeJpL+k3K4PRoz7YTRdyJUsqOb3VghAY6mnvgfnp6ijlD\n\
e5j4mYEpAgMBAAECggEAIhttBtpKnkRRdwWjXne9fDitNYInWNkVmw1Kj3QPKANn\n\
CqmvA46NpXglrhTFf5NayyznNXH6XEl1L//lYajaUjY0veKkLqzB5Fw/zTJbQUhM\n\
PytqDX++ge2YPwCHu2aSRIB+CuOo7s8d8rimt3QYrfHOrxYpqq+hRpo707MOYTZ9\n\
HA/ofY0kRH24e7fAWAo/JhVu6b5/u9KV7xEc0Y0mShjgpfvxrAvU8O2oZO0uDKzE\n\
dwClHTF0Az/yyS/nxFkAVYoIQsDPnuSwPfda7Nu+IkJuTZJ/AiT2cdcBjU96DuZu\n\
2VQWYTODpwgtvlR3AFiaYjWZnEvBeLFRTJX9JhSacQKBgQDpGxBxd4q+xbRnKn8W\n\
Y0mEAIJbGrwNCliUkd0vtSVpRFQ+2U0em2LngdoeSOGgHLjB+cNh33DKhuL73cWy\n\
p3TAwQC8/J+BF00EgxLNbZ312kqc3d+z9li+VB+odIzMdhxBtKrfMlBJUJi5sVX6\n\
8vmnG7GDDoXb8gWSLkwFj6KXkwKBgQDl/sPXLMom9WJ3Odp8xeJWzeIyb9FO3s37\n\
qX608enr0V8Yz9MxBdvA0IyvvI9HT0PqJ3M2I+xnyzDt7SZNKlefWAbxuSHD0yS/\n\
tEHG43cNWClcD3iiXzMhVf5sgl5EEHqvtAqfbS2dlgQ9q+St5XFs9u933QDkRVty\n\
VYPFAmUB0wKBgBHyqYNzBtXFdyxyUzKwFlr5hw/osQ33+/YEfRlNQ0Ilpq7oIE34\n\
/NaCYv7t8aFYVMlqp6aDg7W0SQnHe49T4WNt+NaURNu1pZJxXSNAC2eAlToawzyh\n\
/Rc6du2Le8PKXEaa2IUy5IegkwHJK6uUxbAeK77BgYD703373pKXCpfNAoGAHHb2\n\
Z/gcIMw33oejedPH2nRqrVFXd0pt9dqZWu2hxNTJzzlRavzNoMRu1QUiOnId9qnh\n\
QW8awBHOwXObTOuTop3zZhFCk4jbQHqftWzLfDRQEhu8E2Ry4IpTDbzoy8W6WWqP\n\
8gFCJwG9DqDqkXcXHaRGKPCKPrYyxii9QTG1rI8CgYEA0B8ZFXS1WZs/Ooaldy+a\n\
K8EXpNG5kWt9/qJWP7CCmvusaXceC59IIpz4AuqUMScVM8sYJN28iooFhhGaPbIc\n\
nvue01hxxr27EzuNkloepIUdSCT6QAfXWy5FtP4KCFVJiSYdXzpanOnsuRUe4PzT\n\
NfEk5NgCnCqz7xFkaQ9J+5s=\n\
-----END PRIVATE KEY-----";

/// Public half of [`JWT_PRIVATE_KEY_PEM`], the bindings' `uaa.verificationkey`.
pub(crate) const JWT_PUBLIC_KEY_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0W0w41yNr1ImdMT9ghLF\n\
aWTeBpKVvQtQ2UcZJ3ZTHieRjwACG8OmjW05K3SnKvg4wuEBLPXbkKxX+uCQlkOC\n\
ZF2tJFiyvGKDFLXfzH/+rh7VW51WyJ8qKGSpSNZMt+iI4ltU/PBTVc22rpPIOrgE\n\
JHPxT4XKW58yEf40E+3B3ot5hQTHWYmcshYwQ2qGlnH3qP15JnTl1Q8ReIOLryJT\n\
HazyxLUKtnObrRAz4Ch6B9x2v+SJL7/60fcFKa3ikFqK+t2bowImTcgfrb4igUan\n\
PRV8JCVgAer/EniaS/pNyuD0aM+2E0XciVLKjm91YIQGOpp74H56eoo5Q3uY+JmB\n\
KQIDAQAB\n\
-----END PUBLIC KEY-----";

/// `kid` header of every simulated token.
pub(crate) const JWT_KEY_ID: &str = "calm-simulator-test-key-1";

/// Self-signed client certificate of simulated X.509 credentials (valid ten years from 2026). Test only.
pub(crate) const CLIENT_CERT_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIDsTCCApmgAwIBAgIUVKGGAolRdi1O+VtVdx81xKk8ObwwDQYJKoZIhvcNAQEL\n\
BQAwaDELMAkGA1UEBhMCREUxDzANBgNVBAoMBlNBUCBTRTEjMCEGA1UECwwaY2Fs\n\
bS1jcmVkZW50aWFscyBzaW11bGF0b3IxIzAhBgNVBAMMGmNhbG0tc2ltdWxhdG9y\n\
LXRlc3QtY2xpZW50MB4XDTI2MTEyNzIyMjIwMVoXDTM2MTEyNDIyMjIwMVowaDEL\n\
MAkGA1UEBhMCREUxDzANBgNVBAoMBlNBUCBTRTEjMCEGA1UECwwaY2FsbS1jcmVk\n\
ZW50aWFscyBzaW11bGF0b3IxIzAhBgNVBAMMGmNhbG0tc2ltdWxhdG9yLXRlc3Qt\n\
Y2xpZW50MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAk369sArTKJGA\n\
Ua3m4aY9pMgGFUMRnKD08Qi3ai64jVcW7zObYt2109l4NYbjZ44PmAbUeedSIR9M\n\
UhH02M8mynTGXvGLeyCaUvYk5YHLfGbJa/b/aHhbfVOMlRtNIhxqoW4klIPanaYm\n\
ZIJkFqvUnBwuDfYOimPq423rYVKUyDicPOEjq9QsJxENRGZqryQRn05cgOciOm7X\n\
CT2xzt+Fte3tQKCcXYxrZo06/rYkvcsHhMdXeS+6KH/Rklq7H1SbL5uMubgvx+MP\n\
Q5PymQRAjKeGt39WFNZTyf8pR9q2Zr3ET8j7B3sjj3cxdRin8zvnrScQERJd3qjL\n\
l7DJaWrrjQIDAQABo1MwUTAdBgNVHQ4EFgQUEZNYXjBhXpnuzmRtVG6rK58ctBIw\n\
HwYDVR0jBBgwFoAUEZNYXjBhXpnuzmRtVG6rK58ctBIwDwYDVR0TAQH/BAUwAwEB\n\
/zANBgkqhkiG9w0BAQsFAAOCAQEAT15BekxD/6uLcHdWdN14AsfvZr9FpCky709N\n\
C8EjrCAMiVeqz/m0iq4RMNidc13s5njnb8J2F3Np/PS97OWEJTZGNrgOGZxhrxyF\n\
W/8SyU/f9qo2BQY0x6AZVbcpULvJSItNxksCidbu6uROw0hE+ZM2Fors3fSnphdP\n\
/zbbeLsknG+vdaW1R289NZDTdUUAS8605rSgy/C0gpR6EUyDEWGAnkkqrO/Fc07s\n\
Oq8mRkpC8beO3JPwh6eIXjymcYUfhT8nmMWt5GhWXHo/9QlntS3UipjEgfsIpRIN\n\
4esYQLuo+plrmQr7w6NR7pfYiU1t2UsFuLx0K8K7EyjICLdUVQ==\n\
-----END CERTIFICATE-----";

/// Private key of [`CLIENT_CERT_PEM`]. Test only.
pub(crate) const CLIENT_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCTfr2wCtMokYBR\n\
rebhpj2kyAYVQxGcoPTxCLdqLriNVxbvM5ti3bXT2Xg1huNnjg+YBtR551IhH0xS\n\
EfTYzybKdMZe8Yt7IJpS9iTlgct8Zslr9v9oeFt9U4yVG00iHGqhbiSUg9qdpiZk\n\
gmQWq9ScHC4N9g6KY+rjbethUpTIOJw84SOr1CwnEQ1EZmqvJBGfTlyA5yI6btcJ\n\
PbHO34W17e1AoJxdjGtmjTr+tiS9yweEx1d5L7oof9GSWrsfVJsvm4y5uC/H4w9D\n\
k/KZBECMp4a3f1YU1lPJ/ylH2rZmvcRPyPsHeyOPdzF1GKfzO+etJxAREl3eqMuX\n\
sMlpauuNAgMBAAECggEADORwrzEbCPpC5aDWRBYUYFFtmrEsmmzFTEZPRfREhHI+\n\
2nS/2dH4YUaqh789JGGaAldifi9Wkfea47eXF9ZvlRXE+yqQ3xfX9XV3fyorv7l6\n\
VLoX1CllEdzaNnRW9yrVtTub7fFijBIoW/O7zPGDGYwrCGRgG/+k2fFTOEQQJjoO\n\
gxK+L92IrMbhwmo8vlL+zKlxInbR6JrqjKNZcyA6NkHJvsYJXyQ42eTOwHUi0Khu\n\
Mq5o0X1KJx3YrPW4bIxqPKjXgyJdCLs+araYHkK3wrsu8Jm1kv1H39fFg6GMx9Gs\n\
AXrr0mK7LhCvJp81AQ3udPzLYDG2dpRqLBxGcOOQrwKBgQDN51pvr8q7QAVa7Ane\n\
Rs9p0Nf2s9JZmwxZouMDRdLmQZXWY61NZa88coAim4Rj85+FbgmGhgBxMbNnw8We\n\
Zp3fYrmHCv46V9mqv0JwwrRfixxe3SAKIui4iJMGi9omrZi2405x70P1kb2aC574\n\
5XT88jTonF5yTqxyNYpfwujkrwKBgQC3YWyjSdSMy/vrfSm1NKjjb8z9ysJnzr2J\n\
VE3xCI+c890bBDJsykE99q5CUOvv2zUwkkdpxJd+NwnqGE0lYRBYJBE6cFLxhev7\n\
E1J5u4z9bi9EjYukfLGHRizc2Gvit1v7m8NAy/OhKdELHr1WSkQoKJ+Y/QWr3ibn\n\
bP1L8oX6gwKBgAn/R6bQlDlPPHNTro76RSvQFgxGYtoy6wCXJgqMo1bGrG3CXTG6\n\
1C1NKeeEQYNQ2tfxpcjATNkyHpHVMY0lUlj8RCHIaNuQVGMz8hfjfDp/WJtKhTm4\n\
xC/hgbH5rFfgad/HXZGumlAcCWanVcqj6XA2mlcI8JUAOOM6skNABWrFAoGACoM2\n\
RCIeYjfraDOTqYSsTeWB3ea6wFK0wOOpWDECcp/0Q/E4ps3tcYzrrnePHv/1C6TH\n\
HUQc3ypukhH0kjj/Q95FcpEv4BKqVYllB/99dKXVZdurbrGLR9L5DWwGu0eBqWnj\n\
hppqjAmmpzmK5yB4yciSZaXTpmek2U2BM9JiZdsCgYAgh5awbu98B5bOGucIP0g8\n\
4AbDJdcYUEOUGjbV4zPm6lQknR6u1fZj30Qe8F0aM5g9o1EYfKz3Iexy63Wf7f4g\n\
ZIc5qahnfRzZ2MxvZEwvxVN64dc3qbsGs+Mz91eX49uQAaPHpIyiKZKBKRiyHVC7\n\
zdUaw9SMiZl3MNX30YMLaw==\n\
-----END PRIVATE KEY-----";
