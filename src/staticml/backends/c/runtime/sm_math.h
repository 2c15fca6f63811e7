/* sm_math.h -- staticml's hand-written, libm-free, deterministic elementary functions.
 *
 * CONTRACT
 *   sm_exp, sm_expm1, sm_log, sm_log1p, sm_tanh, sm_sigmoid  (+ sm_isnan, sm_isinf, sm_fabs)
 *   - Header of `static` C99 functions: no #include, no library or builtin calls, no mutable
 *     state; the only file-scope objects are two `static const` tables.
 *   - Only IEEE-754 binary64 +, -, *, / (round-to-nearest-even, the default mode), integer
 *     ops and union type punning.  No FMA, no long double, no sqrt.  Results are therefore
 *     bit-identical on x86_64 (SSE2), aarch64, Windows, wasm32 and a strictfp Java port,
 *     PROVIDED the compiler neither contracts a*b+c into an FMA (-ffp-contract=off; GCC's
 *     default in GNU mode is "fast", which fuses on aarch64) nor uses -ffast-math or any
 *     -ffinite-math/-fassociative-math flag, and evaluates doubles in double
 *     (FLT_EVAL_METHOD 0; 32-bit x87 is rejected below).
 *   - Accuracy: every function forms a double-double approximation of the exact value with
 *     relative error below 2^-67 (exp, sigmoid: 2^-76) and rounds it ONCE, so the result is
 *     the correctly rounded value unless the exact value lies within ~2^-14 ulp of a
 *     rounding midpoint (at worst ~1e-4 of random inputs; none in 3.6 million random
 *     mpmath checks).  Bound: |error| <= 0.5 + 2^-13 ulp < 1 ulp.  Exact ties of short dyadic
 *     inputs (exp(2^-53), expm1(2^-52), ...) are rounded correctly (sm__add_odd), and
 *     subnormal results (exp, sigmoid) are rounded once, never double-rounded.
 *   - Special values: NaN -> the same NaN; exp(+inf)=+inf, exp(-inf)=+0, overflow -> +inf,
 *     underflow -> subnormal or +0; expm1(-inf)=-1; log(+-0)=-inf, log(x<0)=NaN,
 *     log(+inf)=+inf; log1p(-1)=-inf, log1p(x<-1)=NaN; tanh(+-inf)=+-1; sigmoid(+inf)=1,
 *     sigmoid(-inf)=+0; odd functions keep the sign of zero (expm1, log1p, tanh of -0 = -0).
 *   - sigmoid(x) follows scipy.special.expit's branches (x >= 0: 1/(1+e^-x); x < 0:
 *     e^x/(1+e^x)) but is correctly rounded, so it can differ from expit by 1 ulp.
 *
 * NUMERICS (shared building blocks)
 *   Error-free transformations: two_sum (a+b = s+e exactly), fast_two_sum (same, |a|>=|b|)
 *   and Dekker's two_prod (a*b = p+e exactly via 26-bit Veltkamp splits; exact in the
 *   absence of overflow/underflow, used only on operands of modest size).  A pair (h, l)
 *   with |l| << |h| is a "double-double" carrying ~106 bits.
 *   Every constant is a C99 hex-float literal, so no decimal conversion is involved.
 *   Tables (generated with mpmath at 400 bits, each entry rounded to nearest):
 *     sm__exp_tab[j] = 2^(j/128) as hi + lo                          (128 x 2 doubles)
 *     sm__log_tab[j] = { c_j = RN(1/(1+j/128)), -log(c_j) [- ln2 if j >= 53] as hi + lo }
 *                                                                    (129 x 3 doubles)
 *   The hi+lo split gives each table value to ~2^-106 relative: one double (2^-53) would
 *   alone cost ~0.1% of correct roundings.
 */
#ifndef SM_MATH_H
#define SM_MATH_H

#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 2 && !defined(SM_MATH_ALLOW_X87)
#error "sm_math.h needs double evaluated in double (use SSE2: -msse2 -mfpmath=sse)"
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

typedef unsigned long long sm__u64;
typedef union { double d; sm__u64 u; } sm__bits;
typedef char sm__u64_is_64_bits[(sizeof(sm__u64) == sizeof(double)) ? 1 : -1];

static double sm__asdouble(sm__u64 u) { sm__bits b; b.u = u; return b.d; }
static sm__u64 sm__asuint(double d) { sm__bits b; b.d = d; return b.u; }
#define SM__INF sm__asdouble(0x7ff0000000000000ULL)
#define SM__NAN sm__asdouble(0x7ff8000000000000ULL)

static int sm_isnan(double x) { return (sm__asuint(x) << 1) > 0xffe0000000000000ULL; }
static int sm_isinf(double x) { return (sm__asuint(x) << 1) == 0xffe0000000000000ULL; }
static double sm_fabs(double x) { return sm__asdouble(sm__asuint(x) & 0x7fffffffffffffffULL); }

/* 2^e for -1022 <= e <= 1023, built from the exponent field. */
static double sm__pow2i(int e) { return sm__asdouble((sm__u64)(e + 1023) << 52); }

static void sm__two_sum(double a, double b, double *s, double *e)
{
    double t = a + b, bb = t - a;
    *s = t;
    *e = (a - (t - bb)) + (b - bb);
}

static void sm__fast_two_sum(double a, double b, double *s, double *e) /* needs |a| >= |b| */
{
    double t = a + b;
    *s = t;
    *e = b - (t - a);
}

static void sm__two_prod(double a, double b, double *p, double *e)
{
    double t, ah, al, bh, bl, ab = a * b;
    t = a * 0x1.0000002p27; ah = t - (t - a); al = a - ah;   /* 0x1.0000002p27 = 2^27+1 */
    t = b * 0x1.0000002p27; bh = t - (t - b); bl = b - bh;
    *p = ab;
    *e = ((ah * bh - ab) + ah * bl + al * bh) + al * bl;      /* all partial products exact */
}

/* a + b "rounded to odd": RN(a + b), but if that is inexact and has an even last mantissa
 * bit, the neighbour on the side of the exact sum (which has an odd last bit).  Used for the
 * low part l of a final RN(h + l): an inexact l then has an odd last bit, so h + l is never
 * exactly a rounding midpoint of the much coarser result and the dropped bits act as a
 * sticky bit (Boldo-Melquiond).  This settles the exact ties of short dyadic inputs, e.g.
 * exp(2^-53) = 1 + 2^-53 + 2^-107 + ... or expm1(2^-52), which plain double-double rounding
 * would resolve to even, i.e. the wrong way. */
static double sm__add_odd(double a, double b)
{
    double s, e;
    sm__u64 u;
    sm__two_sum(a, b, &s, &e);
    u = sm__asuint(s);
    if (e != 0.0 && !(u & 1u)) u = ((e > 0.0) == (s > 0.0)) ? u + 1u : u - 1u;
    return sm__asdouble(u);
}

/* (nh+nl)/(dh+dl), rounded once.  q = nh/dh is refined by one Newton-like correction using
 * the exact residual nh - q*dh (representable, Sterbenz for nh - p), so the value before
 * the final rounding has relative error ~2^-100 + the inputs' error (the map is
 * well-conditioned in both uses: tanh = t/(t+2), sigmoid = 1/(1+u) or u/(1+u), u >= 0). */
static double sm__dd_div(double nh, double nl, double dh, double dl)
{
    double q = nh / dh, p, pe;
    sm__two_prod(q, dh, &p, &pe);
    return q + ((((nh - p) - pe) + nl) - q * dl) / dh;
}

/* ------------------------------------------------------------------ exp family */

static const double sm__exp_tab[128][2] = {
    {0x1.0000000000000p+0, 0x0p+0}, {0x1.0163da9fb3335p+0, 0x1.b61299ab8cdb7p-54},
    {0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56}, {0x1.04315e86e7f85p+0, -0x1.0a31c1977c96ep-54},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55}, {0x1.0706b29ddf6dep+0, -0x1.c91dfe2b13c27p-55},
    {0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57}, {0x1.09e3ecac6f383p+0, 0x1.1487818316136p-54},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54}, {0x1.0cc922b7247f7p+0, 0x1.01edc16e24f71p-54},
    {0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59}, {0x1.0fb66affed31bp+0, -0x1.b9bedc44ebd7bp-57},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54}, {0x1.12abdc06c31ccp+0, -0x1.1b514b36ca5c7p-58},
    {0x1.1429aaea92de0p+0, -0x1.32fbf9af1369ep-54}, {0x1.15a98c8a58e51p+0, 0x1.2406ab9eeab0ap-55},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55}, {0x1.18af9388c8deap+0, -0x1.11023d1970f6cp-54},
    {0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55}, {0x1.1bbe084045cd4p+0, -0x1.95386352ef607p-54},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54}, {0x1.1ed5022fcd91dp+0, -0x1.1df98027bb78cp-54},
    {0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55}, {0x1.21f49917ddc96p+0, 0x1.2a97e9494a5eep-55},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54}, {0x1.251ce4fb2a63fp+0, 0x1.ac155bef4f4a4p-55},
    {0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55}, {0x1.284dfe1f56381p+0, -0x1.a4c3a8c3f0d7ep-54},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55}, {0x1.2b87fd0dad990p+0, -0x1.10adcd6381aa4p-59},
    {0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54}, {0x1.2ecafa93e2f56p+0, 0x1.1ca0f45d52383p-56},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55}, {0x1.32170fc4cd831p+0, 0x1.a9ce78e18047cp-55},
    {0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54}, {0x1.356c55f929ff1p+0, -0x1.b5cee5c4e4628p-55},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54}, {0x1.38cae6d05d866p+0, -0x1.e958d3c9904bdp-54},
    {0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56}, {0x1.3c32dc313a8e5p+0, -0x1.efff8375d29c3p-54},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55}, {0x1.3fa4504ac801cp+0, -0x1.7d023f956f9f3p-54},
    {0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58}, {0x1.431f5d950a897p+0, -0x1.1c7dde35f7999p-55},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59}, {0x1.46a41ed1d0057p+0, 0x1.c944bd1648a76p-54},
    {0x1.486a2b5c13cd0p+0, 0x1.3c1a3b69062f0p-56}, {0x1.4a32af0d7d3dep+0, 0x1.9cb62f3d1be56p-54},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56}, {0x1.4dcb299fddd0dp+0, 0x1.8ecdbbc6a7833p-54},
    {0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54}, {0x1.516daa2cf6642p+0, -0x1.f768569bd93efp-55},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55}, {0x1.551a4ca5d920fp+0, -0x1.d689cefede59bp-55},
    {0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54}, {0x1.58d12d497c7fdp+0, 0x1.295e15b9a1de8p-55},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54}, {0x1.5c9268a5946b7p+0, 0x1.c4b1b816986a2p-60},
    {0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54}, {0x1.605e1b976dc09p+0, -0x1.3e2429b56de47p-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54}, {0x1.6434634ccc320p+0, -0x1.c483c759d8933p-55},
    {0x1.6623882552225p+0, -0x1.bb60987591c34p-54}, {0x1.68155d44ca973p+0, 0x1.038ae44f73e65p-57},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54}, {0x1.6c012750bdabfp+0, -0x1.2895667ff0b0dp-56},
    {0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57}, {0x1.6ff7df9519484p+0, -0x1.83c0f25860ef6p-55},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55}, {0x1.73f9a48a58174p+0, -0x1.0a8d96c65d53cp-54},
    {0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54}, {0x1.780694fde5d3fp+0, 0x1.866b80a02162dp-54},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55}, {0x1.7c1ed0130c132p+0, 0x1.f124cd1164dd6p-54},
    {0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56}, {0x1.80427543e1a12p+0, -0x1.27c86626d972bp-54},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54}, {0x1.8471a4623c7adp+0, -0x1.8d684a341cdfbp-55},
    {0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54}, {0x1.88ac7d98a6699p+0, 0x1.994c2f37cb53ap-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54}, {0x1.8cf3216b5448cp+0, -0x1.0d55e32e9e3aap-56},
    {0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55}, {0x1.9145b0b91ffc6p+0, -0x1.dd6792e582524p-54},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57}, {0x1.95a44cbc8520fp+0, -0x1.64b7c96a5f039p-56},
    {0x1.97d829fde4e50p+0, -0x1.d185b7c1b85d1p-54}, {0x1.9a0f170ca07bap+0, -0x1.173bd91cee632p-54},
    {0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56}, {0x1.9e86319e32323p+0, 0x1.824ca78e64c6ep-56},
    {0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54}, {0x1.a309bec4a2d33p+0, 0x1.6305c7ddc36abp-54},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54}, {0x1.a799e1330b358p+0, 0x1.bcb7ecac563c7p-54},
    {0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54}, {0x1.ac36bbfd3f37ap+0, -0x1.f9234cae76cd0p-55},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54}, {0x1.b0e07298db666p+0, -0x1.bdef54c80e425p-54},
    {0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57}, {0x1.b59728de5593ap+0, -0x1.c71dfbbba6de3p-54},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56}, {0x1.ba5b030a1064ap+0, -0x1.efcd30e54292ep-54},
    {0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55}, {0x1.bf2c25bd71e09p+0, -0x1.efdca3f6b9c73p-54},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55}, {0x1.c40ab5fffd07ap+0, 0x1.b4537e083c60ap-54},
    {0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54}, {0x1.c8f6d9406e7b5p+0, 0x1.1acbc48805c44p-56},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56}, {0x1.cdf0b555dc3fap+0, -0x1.dd83b53829d72p-55},
    {0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54}, {0x1.d2f87080d89f2p+0, -0x1.d487b719d8578p-54},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55}, {0x1.d80e316c98398p+0, -0x1.11ec18beddfe8p-54},
    {0x1.da9e603db3285p+0, 0x1.c2300696db532p-54}, {0x1.dd321f301b460p+0, 0x1.2da5778f018c3p-54},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54}, {0x1.e264614f5a129p+0, -0x1.7b627817a1496p-54},
    {0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55}, {0x1.e7a51fbc74c83p+0, 0x1.2d522ca0c8de2p-54},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54}, {0x1.ecf482d8e67f1p+0, -0x1.c93f3b411ad8cp-54},
    {0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6b0p-54}, {0x1.f252b376bba97p+0, 0x1.3a1a5bf0d8e43p-54},
    {0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54}, {0x1.f7bfdad9cbe14p+0, -0x1.dbb12d006350ap-54},
    {0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55}, {0x1.fd3c22b8f71f1p+0, 0x1.2eb74966579e7p-57}
};

/* expm1(rh + rl) as ph + pl, for |rh| <= 2^-8.4, |rl| <= ulp(rh).  Relative error < 2^-70.
 *   expm1(r) = r + r^2/2 + c,  c = r*(r^2/2)*(1/3 + r/12 + r^2/60 + r^3/360 + r^4/2520)
 * r^2/2 is formed exactly (two_prod), so only c (|c| <= |r|*2^-19) is rounded: its error is
 * ~4*2^-53*|c| <= |r|*2^-70 and the truncation (r^8/8!) is <= |r|*2^-78.  The rl part
 * enters as rl*e^rh ~ rl*(1 + rh). */
static void sm__expm1_poly(double rh, double rl, double *ph, double *pl)
{
    double sh, sl, c, h, e;
    sm__two_prod(rh, rh, &sh, &sl);
    sh *= 0.5; sl *= 0.5;
    c = rh * sh * (0x1.5555555555555p-2 + rh * (0x1.5555555555555p-4 + rh * (0x1.1111111111111p-6
        + rh * (0x1.6c16c16c16c17p-9 + rh * 0x1.a01a01a01a01ap-12))));
    sm__fast_two_sum(rh, sh, &h, &e);
    e = sm__add_odd(e, (rl + rl * rh + sl) + c);
    sm__fast_two_sum(h, e, ph, pl);
}

/* exp(x) = 2^E * (h + l) for |x| <= 746; returns E.  h + l lies in [0.997, 2.006] and has
 * relative error < 2^-76.
 * Reduction: k = round(x*128/ln2), j = k mod 128, E = (k-j)/128, r = x - k*ln2/128, so
 * exp(x) = 2^E * 2^(j/128) * exp(r) with |r| <= ln2/256 (+2^-45 from rounding x*128/ln2).
 * ln2/128 = C1 + C2 where C1 has 35 significant bits: |k| < 2^18, so k*C1 is exact, and
 * x - k*C1 is exact (a multiple of 2^-61 below 2^-8 in magnitude, or Sterbenz).  k*C2 is
 * rounded (error <= 2^-78), and two_sum keeps r as rh + rl exactly from there on.
 * Then 2^(j/128)*(1+p) = Th + Th*ph + (Tl + Th*pl + Tl*ph) with Th*ph exact (two_prod), the
 * rest < 2^-51 and rounded at ~2^-104: the error is dominated by p's 2^-70*|r| <= 2^-78.5
 * and by k*C2's 2^-78. */
static int sm__exp_core(double x, double *h, double *l)
{
    double kd = (x * 0x1.71547652b82fep+7 + 0x1.8p52) - 0x1.8p52;   /* round(x*128/ln2) */
    int k = (int)kd;
    unsigned j = (unsigned)k & 127u;
    double Th = sm__exp_tab[j][0], Tl = sm__exp_tab[j][1];
    double rh, rl, ph, pl, a, b, s, e;
    sm__two_sum(x - kd * 0x1.62e42fefc0000p-8, kd * 0x1.c610ca86c3899p-44, &rh, &rl);
    sm__expm1_poly(rh, rl, &ph, &pl);
    sm__two_prod(Th, ph, &a, &b);
    sm__fast_two_sum(Th, a, &s, &e);
    *h = s;
    *l = sm__add_odd(e, b + (Tl + (Th * pl + Tl * ph)));
    return (k - (int)j) / 128;                 /* exact: k - j is a multiple of 128 */
}

/* expm1(x) as hi + lo for -40 <= x <= 709, relative error < 2^-67.  For |x| <= 2^-9 the
 * polynomial alone (no cancellation).  Otherwise 2^E*(h+l) - 1: the subtraction is exact
 * (two_sum) and |expm1(x)| >= 2^-9.1, so exp_core's absolute 2^-76 becomes <= 2^-67. */
static void sm__expm1_dd(double x, double *hi, double *lo)
{
    double h, l, s, a, b;
    if (sm_fabs(x) <= 0x1p-9) { sm__expm1_poly(x, 0.0, hi, lo); return; }
    s = sm__pow2i(sm__exp_core(x, &h, &l));      /* E in [-58, 1023]: scaling exact */
    sm__two_sum(h * s, -1.0, &a, &b);
    sm__fast_two_sum(a, b + l * s, hi, lo);
}

static double sm_exp(double x)
{
    double h, l, s, wh, wl, u, v;
    int E;
    if (sm_isnan(x)) return x;
    if (x > 710.0) return SM__INF;             /* exp(709.79) > DBL_MAX; also +inf */
    if (x < -746.0) return 0.0;                /* exp(-746) < 2^-1075; also -inf */
    if (sm_fabs(x) < 0x1p-54) return 1.0;      /* |exp(x) - 1| < half an ulp of 1 */
    E = sm__exp_core(x, &h, &l);
    if (E > 1023) return (h + l) * 0x1p1023 * 2.0;   /* E == 1024: finite or overflow */
    if (E > -1022) return (h + l) * sm__pow2i(E);    /* result >= 2^-1022: exact scaling */
    /* Possibly subnormal (E in [-1077, -1022]).  Rounding h+l first and then scaling would
     * round twice.  Instead use W = (h+l)*2^(E+1022) (exact, normal) and round 1 + W:
     * for W < 1 the grid of doubles in [1, 2) (2^-52) is exactly the subnormal grid
     * (2^-1074) scaled by 2^1022, so 1 + W rounds as the final result should, and
     * (1 + W) - 1 and the scaling by 2^-1022 are exact. */
    s = sm__pow2i(E + 1022);
    wh = h * s; wl = l * s;
    if (wh + wl >= 1.0) return ((h + l) * s) * 0x1p-1022;   /* normal after all */
    sm__two_sum(1.0, wh, &u, &v);
    return ((u + (v + wl)) - 1.0) * 0x1p-1022;
}

static double sm_expm1(double x)
{
    double h, l;
    if (sm_isnan(x)) return x;
    if (x > 709.0) return sm_exp(x);           /* ulp(e^x) > 2^900: the -1 cannot matter */
    if (x < -40.0) return -1.0;                /* e^x < 2^-57 < half ulp below 1; -inf too */
    if (sm_fabs(x) < 0x1p-54) return x;        /* x + x^2/2 rounds to x; keeps -0 */
    sm__expm1_dd(x, &h, &l);
    return h + l;
}

/* tanh(a) = t/(t+2), t = expm1(2a) >= 0, for a = |x|; the sign is restored at the end so
 * tanh is exactly odd.  Relative error of t/(t+2) <= that of t (2^-67). */
static double sm_tanh(double x)
{
    double a = sm_fabs(x), y, th, tl, dh, dl;
    if (sm_isnan(x)) return x;
    if (a < 0x1p-28) return x;                 /* tanh(x) = x(1 - x^2/3...) rounds to x */
    if (a > 20.0) {
        y = 1.0;                               /* 1 - tanh(20) < 2^-56; also +-inf */
    } else {
        sm__expm1_dd(2.0 * a, &th, &tl);
        sm__two_sum(th, 2.0, &dh, &dl);
        y = sm__dd_div(th, tl, dh, dl + tl);
    }
    return x < 0.0 ? -y : y;
}

/* sigmoid.  |x| < 2^-18: 1/2 + x/4 - x^3/48 + x^5/480 (next term < 2^-135): the tail T is
 * tiny, but for x an odd multiple of 2^-52 (x > 0) or 2^-53 (x < 0), 1/2 + x/4 is an exact
 * tie that only T's sign decides, and that is finer than double-double: hence add_odd.
 * Otherwise via u = e^-|x| = 2^E (h + l) and d = 1 + u as a double-double:
 * x >= 0: 1/d;  x < 0: e^x/(1 + e^x) = 2^E * ((h+l)/d), the quotient in [0.49, 2.01] being
 * rounded before the exact scaling (E >= -1011 keeps the result normal).  Relative error
 * <= that of u (2^-76). */
static double sm_sigmoid(double x)
{
    double h, l, s, dh, dl;
    if (sm_isnan(x)) return x;
    if (x > 40.0) return 1.0;                  /* 1 - sigmoid(x) < e^-40 < 2^-57; +inf too */
    if (x < -700.0) return sm_exp(x);          /* sigmoid = e^x(1 - e^x...), e^x < 2^-1009 */
    if (sm_fabs(x) < 0x1p-18) {
        sm__fast_two_sum(0.5, 0.25 * x, &dh, &dl);
        return dh + sm__add_odd(dl, x * (x * x) * (-0x1.5555555555555p-6      /* -1/48 */
                                                   + (x * x) * 0x1.1111111111111p-9)); /* 1/480 */
    }
    s = sm__pow2i(sm__exp_core(x >= 0.0 ? -x : x, &h, &l));
    sm__two_sum(1.0, h * s, &dh, &dl);
    dl += l * s;                               /* may be subnormal: error < 2^-1074 */
    if (x >= 0.0) return sm__dd_div(1.0, 0.0, dh, dl);
    return sm__dd_div(h, l, dh, dl) * s;
}

/* ------------------------------------------------------------------ log family */

static const double sm__log_tab[129][3] = {
    {0x1.0000000000000p+0, 0x0p+0, 0x0p+0},
    {0x1.fc07f01fc07f0p-1, 0x1.fe02a6b106799p-8, -0x1.e44b7e3711e7fp-67},
    {0x1.f81f81f81f820p-1, 0x1.fc0a8b0fc03c4p-7, -0x1.83092c5964281p-62},
    {0x1.f44659e4a4271p-1, 0x1.7b91b07d5b126p-6, -0x1.6d80ab38e9430p-62},
    {0x1.f07c1f07c1f08p-1, 0x1.f829b0e7832f8p-6, 0x1.33e3f04f1ef25p-60},
    {0x1.ecc07b301ecc0p-1, 0x1.39e87b9febd68p-5, -0x1.5bfa937f551b7p-59},
    {0x1.e9131abf0b767p-1, 0x1.77458f632dcffp-5, 0x1.8d3ca87b92968p-63},
    {0x1.e573ac901e574p-1, 0x1.b42dd711971b9p-5, 0x1.0a34531f67db5p-59},
    {0x1.e1e1e1e1e1e1ep-1, 0x1.f0a30c01162a8p-5, 0x1.85f325c5bbacdp-59},
    {0x1.de5d6e3f8868ap-1, 0x1.16536eea37ae3p-4, 0x1.2189705cf74cap-58},
    {0x1.dae6076b981dbp-1, 0x1.341d7961bd1d0p-4, -0x1.3599f227becbbp-58},
    {0x1.d77b654b82c34p-1, 0x1.51b073f06183cp-4, -0x1.5b61c65e5741ap-58},
    {0x1.d41d41d41d41dp-1, 0x1.6f0d28ae56b4ep-4, -0x1.20db323097324p-59},
    {0x1.d0cb58f6ec074p-1, 0x1.8c345d6319b23p-4, -0x1.294d2f5668495p-58},
    {0x1.cd85689039b0bp-1, 0x1.a926d3a4ad562p-4, -0x1.d7a16eab1e2adp-59},
    {0x1.ca4b3055ee191p-1, 0x1.c5e548f5bc743p-4, 0x1.2eb0bf7c0b0d9p-59},
    {0x1.c71c71c71c71cp-1, 0x1.e27076e2af2eap-4, -0x1.61578001e015ap-60},
    {0x1.c3f8f01c3f8f0p-1, 0x1.fec9131dbeabcp-4, -0x1.5746b9981b36cp-58},
    {0x1.c0e070381c0e0p-1, 0x1.0d77e7cd08e5bp-3, 0x1.9a5dc5e9030adp-57},
    {0x1.bdd2b899406f7p-1, 0x1.1b72ad52f67a2p-3, -0x1.fbe7ee5c69946p-57},
    {0x1.bacf914c1bad0p-1, 0x1.29552f81ff521p-3, 0x1.301771c407dc0p-57},
    {0x1.b7d6c3dda338bp-1, 0x1.371fc201e8f75p-3, 0x1.e6cb62af18a02p-62},
    {0x1.b4e81b4e81b4fp-1, 0x1.44d2b6ccb7d1cp-3, 0x1.7d3d950f87e23p-59},
    {0x1.b2036406c80d9p-1, 0x1.526e5e3a1b438p-3, -0x1.546ff8a470d3ap-57},
    {0x1.af286bca1af28p-1, 0x1.5ff3070a793d6p-3, -0x1.bc60efafc6f6cp-58},
    {0x1.ac5701ac5701bp-1, 0x1.6d60fe719d21bp-3, 0x1.d551d97132e87p-57},
    {0x1.a98ef606a63bep-1, 0x1.7ab890210d907p-3, -0x1.1072534a57e7dp-57},
    {0x1.a6d01a6d01a6dp-1, 0x1.87fa06520c911p-3, -0x1.9f7fdbfa08d9ap-57},
    {0x1.a41a41a41a41ap-1, 0x1.9525a9cf456b6p-3, -0x1.26fb3e2b1d1dap-57},
    {0x1.a16d3f97a4b02p-1, 0x1.a23bc1fe2b561p-3, 0x1.24dc46c1ea664p-57},
    {0x1.9ec8e951033d9p-1, 0x1.af3c94e80bff3p-3, 0x1.a3398064df33ep-57},
    {0x1.9c2d14ee4a102p-1, 0x1.bc286742d8cd4p-3, 0x1.cfce744870f57p-58},
    {0x1.999999999999ap-1, 0x1.c8ff7c79a9a20p-3, -0x1.4f689f8434011p-57},
    {0x1.970e4f80cb872p-1, 0x1.d5c216b4fbb94p-3, -0x1.a37794d03657dp-58},
    {0x1.948b0fcd6e9e0p-1, 0x1.e27076e2af2e8p-3, -0x1.61578001e015ep-59},
    {0x1.920fb49d0e229p-1, 0x1.ef0adcbdc5935p-3, 0x1.e8637950dc20dp-57},
    {0x1.8f9c18f9c18fap-1, 0x1.fb9186d5e3e29p-3, 0x1.355519b0de535p-57},
    {0x1.8d3018d3018d3p-1, 0x1.0402594b4d041p-2, -0x1.08ec217a5022dp-57},
    {0x1.8acb90f6bf3aap-1, 0x1.0a324e27390e2p-2, 0x1.bdcfde8061c03p-56},
    {0x1.886e5f0abb04ap-1, 0x1.1058bf9ae4ad4p-2, 0x1.3f415699663ecp-63},
    {0x1.8618618618618p-1, 0x1.1675cababa60fp-2, 0x1.ce63eab883727p-61},
    {0x1.83c977ab2beddp-1, 0x1.1c898c16999fbp-2, 0x1.9f1a39d500e3cp-56},
    {0x1.8181818181818p-1, 0x1.22941fbcf7966p-2, -0x1.dbd7ac258a2bdp-58},
    {0x1.7f405fd017f40p-1, 0x1.2895a13de86a4p-2, 0x1.7ad24c13f040fp-56},
    {0x1.7d05f417d05f4p-1, 0x1.2e8e2bae11d31p-2, -0x1.1e99b72bd7bf2p-57},
    {0x1.7ad2208e0ecc3p-1, 0x1.347dd9a987d56p-2, -0x1.16ea62c048cfbp-56},
    {0x1.78a4c8178a4c8p-1, 0x1.3a64c556945eap-2, 0x1.cbcd735d03424p-60},
    {0x1.767dce434a9b1p-1, 0x1.404308686a7e4p-2, -0x1.f79f6c1059cdbp-57},
    {0x1.745d1745d1746p-1, 0x1.4618bc21c5ec2p-2, -0x1.7a42642661c62p-61},
    {0x1.724287f46debcp-1, 0x1.4be5f957778a1p-2, -0x1.4b366b609027ap-58},
    {0x1.702e05c0b8170p-1, 0x1.51aad872df82ep-2, -0x1.d8db0a7cc1543p-56},
    {0x1.6e1f76b4337c7p-1, 0x1.5767717455a6cp-2, -0x1.fb2a49af933e8p-57},
    {0x1.6c16c16c16c17p-1, 0x1.5d1bdbf5809cap-2, -0x1.7dc9c7c23801fp-56},
    {0x1.6a13cd1537290p-1, -0x1.630030b3aac48p-2, -0x1.ee0c6728fffccp-56},
    {0x1.6816816816817p-1, -0x1.5d5bddf595f31p-2, -0x1.d5f75b9a23ae4p-59},
    {0x1.661ec6a5122f9p-1, -0x1.57bf753c8d1fbp-2, 0x1.2908d15f88b63p-57},
    {0x1.642c8590b2164p-1, -0x1.522ae0738a3d7p-2, -0x1.3840b263acb43p-56},
    {0x1.623fa77016240p-1, -0x1.4c9e09e172c3dp-2, 0x1.123615b147a5fp-58},
    {0x1.6058160581606p-1, -0x1.4718dc271c41cp-2, -0x1.d8fb4c14c56eep-56},
    {0x1.5e75bb8d015e7p-1, -0x1.419b423d5e8c6p-2, -0x1.5b7648704e721p-58},
    {0x1.5c9882b931057p-1, -0x1.3c25277333183p-2, -0x1.152d81af5713ap-56},
    {0x1.5ac056b015ac0p-1, -0x1.36b6776be1116p-2, 0x1.324f0e8838590p-58},
    {0x1.58ed2308158edp-1, -0x1.314f1e1d35ce3p-2, -0x1.22966f61a3c23p-56},
    {0x1.571ed3c506b3ap-1, -0x1.2bef07cdc9355p-2, 0x1.22dad7fd86088p-56},
    {0x1.5555555555555p-1, -0x1.269621134db91p-2, -0x1.e0efadd9db02ap-56},
    {0x1.5390948f40febp-1, -0x1.214456d0eb8d5p-2, 0x1.50a2dca28b3edp-58},
    {0x1.51d07eae2f815p-1, -0x1.1bf99635a6b95p-2, 0x1.e9575c2124912p-56},
    {0x1.5015015015015p-1, -0x1.16b5ccbacfb73p-2, -0x1.56fbd28b40935p-56},
    {0x1.4e5e0a72f0539p-1, -0x1.1178e8227e47ap-2, -0x1.b8ce2d07f1cb7p-56},
    {0x1.4cab88725af6ep-1, -0x1.0c42d676162e2p-2, 0x1.5a74e18a8bb85p-56},
    {0x1.4afd6a052bf5bp-1, -0x1.07138604d5864p-2, 0x1.24e912b16ec8bp-60},
    {0x1.49539e3b2d067p-1, -0x1.01eae5626c691p-2, -0x1.d9f5bd0b5b348p-57},
    {0x1.47ae147ae147bp-1, -0x1.f991c6cb3b37ap-3, -0x1.ecca0cdf30143p-58},
    {0x1.460cbc7f5cf9ap-1, -0x1.ef5ade4dcffe5p-3, -0x1.7754d2238f75fp-58},
    {0x1.446f86562d9fbp-1, -0x1.e530effe71013p-3, 0x1.f7627ef82f3f0p-57},
    {0x1.42d6625d51f87p-1, -0x1.db13db0d48941p-3, 0x1.8af715b0349a4p-57},
    {0x1.4141414141414p-1, -0x1.d1037f2655e7bp-3, 0x1.3f3adb7b71cbcp-58},
    {0x1.3fb013fb013fbp-1, -0x1.c6ffbc6f00f71p-3, 0x1.ae58b2c57a4a5p-57},
    {0x1.3e22cbce4a902p-1, -0x1.bd087383bd8aap-3, 0x1.1165504ad749ep-59},
    {0x1.3c995a47babe7p-1, -0x1.b31d8575bce3bp-3, 0x1.0d4eace1aa537p-59},
    {0x1.3b13b13b13b14p-1, -0x1.a93ed3c8ad9e5p-3, -0x1.bcafa9de97202p-57},
    {0x1.3991c2c187f63p-1, -0x1.9f6c407089663p-3, 0x1.52979a7e86605p-57},
    {0x1.3813813813814p-1, -0x1.95a5adcf70182p-3, -0x1.8a16283fdbd1cp-57},
    {0x1.3698df3de0748p-1, -0x1.8beafeb38fe8fp-3, 0x1.54aae92cd0b87p-59},
    {0x1.3521cfb2b78c1p-1, -0x1.823c16551a3c0p-3, -0x1.6dcd318f4187ep-57},
    {0x1.33ae45b57bcb2p-1, -0x1.7898d85444c74p-3, -0x1.be3dbaf3ec804p-60},
    {0x1.323e34a2b10bfp-1, -0x1.6f0128b756ab9p-3, 0x1.37967087859b9p-59},
    {0x1.30d190130d190p-1, -0x1.6574ebe8c1339p-3, -0x1.c5961e173bc82p-57},
    {0x1.2f684bda12f68p-1, -0x1.5bf406b543db0p-3, 0x1.1f5b44c0df7f7p-61},
    {0x1.2e025c04b8097p-1, -0x1.527e5e4a1b58dp-3, 0x1.b8d4b411cadffp-60},
    {0x1.2c9fb4d812ca0p-1, -0x1.4913d8333b563p-3, 0x1.0d5604930f137p-58},
    {0x1.2b404ad012b40p-1, -0x1.3fb45a59928cap-3, 0x1.d87e6a354d057p-57},
    {0x1.29e4129e4129ep-1, -0x1.365fcb0159014p-3, -0x1.bea08d2dca256p-57},
    {0x1.288b01288b013p-1, -0x1.2d1610c86813dp-3, -0x1.d997036941a6dp-60},
    {0x1.27350b8812735p-1, -0x1.23d712a49c201p-3, -0x1.51c7e9efae297p-57},
    {0x1.25e22708092f1p-1, -0x1.1aa2b7e23f729p-3, -0x1.6e44389934420p-57},
    {0x1.2492492492492p-1, -0x1.1178e8227e47ap-3, 0x1.0e63a5f01c693p-58},
    {0x1.23456789abcdfp-1, -0x1.08598b59e3a07p-3, 0x1.fd7009902bf32p-57},
    {0x1.21fb78121fb78p-1, -0x1.fe89139dbd565p-4, 0x1.ac9f4215f9394p-58},
    {0x1.20b470c67c0d9p-1, -0x1.ec739830a1126p-4, -0x1.eea033743f95bp-58},
    {0x1.1f7047dc11f70p-1, -0x1.da7276384469ep-4, -0x1.401fa71733017p-58},
    {0x1.1e2ef3b3fb874p-1, -0x1.c885801bc4b20p-4, 0x1.5c734aa6598fcp-58},
    {0x1.1cf06ada2811dp-1, -0x1.b6ac88dad5b1dp-4, 0x1.002bf768e52d0p-58},
    {0x1.1bb4a4046ed29p-1, -0x1.a4e7640b1bc38p-4, 0x1.9b5ca203e4259p-58},
    {0x1.1a7b9611a7b96p-1, -0x1.9335e5d594988p-4, 0x1.478a85704ccb7p-58},
    {0x1.19453808ca29cp-1, -0x1.8197e2f40e3f0p-4, 0x1.230690020895fp-59},
    {0x1.1811811811812p-1, -0x1.700d30aeac0e8p-4, -0x1.a36a677b4c8b2p-59},
    {0x1.16e0689427379p-1, -0x1.5e95a4d9791cdp-4, 0x1.4c78ba3a3baf6p-58},
    {0x1.15b1e5f75270dp-1, -0x1.4d3115d207eacp-4, -0x1.da7d0b1e10b2fp-60},
    {0x1.1485f0e0acd3bp-1, -0x1.3bdf5a7d1ee5ep-4, -0x1.f52eda76b68acp-60},
    {0x1.135c81135c811p-1, -0x1.2aa04a44717a1p-4, -0x1.aea2c72d05c08p-58},
    {0x1.12358e75d3033p-1, -0x1.1973bd1465561p-4, 0x1.7aac1b3d35680p-58},
    {0x1.1111111111111p-1, -0x1.08598b59e3a06p-4, 0x1.dd7009902bf32p-58},
    {0x1.0fef010fef011p-1, -0x1.eea31c006b87cp-5, 0x1.7c9f9276f6cd8p-60},
    {0x1.0ecf56be69c90p-1, -0x1.ccb73cdddb2d0p-5, 0x1.e48fb0500efd5p-59},
    {0x1.0db20a88f4696p-1, -0x1.aaef2d0fb1108p-5, -0x1.68d4eed0b82aep-59},
    {0x1.0c9714fbcda3bp-1, -0x1.894aa149fb34bp-5, 0x1.2ba0b44cfaee5p-59},
    {0x1.0b7e6ec259dc8p-1, -0x1.67c94f2d4bb65p-5, -0x1.0413e6505e5f9p-59},
    {0x1.0a6810a6810a7p-1, -0x1.466aed42de3f9p-5, 0x1.9badefe942718p-60},
    {0x1.0953f39010954p-1, -0x1.252f32f8d1840p-5, -0x1.ae021b67a9ba8p-61},
    {0x1.0842108421084p-1, -0x1.0415d89e74440p-5, -0x1.c05cf1d753621p-59},
    {0x1.073260a47f7c6p-1, -0x1.c63d2ec14aad7p-6, -0x1.8fe7acbca131dp-63},
    {0x1.0624dd2f1a9fcp-1, -0x1.8492528c8cac5p-6, 0x1.d192d0619fa68p-60},
    {0x1.05197f7d73404p-1, -0x1.432a925980cbcp-6, 0x1.8cdaf39004193p-60},
    {0x1.0410410410410p-1, -0x1.0205658935837p-6, -0x1.27c8e8416e717p-60},
    {0x1.03091b51f5e1ap-1, -0x1.82448a388a283p-7, -0x1.04b16137f0970p-62},
    {0x1.0204081020408p-1, -0x1.010157588de69p-7, -0x1.46662d417cecep-62},
    {0x1.0101010101010p-1, -0x1.0080559588b25p-8, -0x1.f96638cf63675p-62},
    {0x1.0000000000000p-1, 0x0p+0, 0x0p+0}
};

/* log1p(rh + rl) as ph + pl, for |rh| <= 2^-8 (1 + 2^-50), |rl| <= ulp(rh).
 *   log1p(r) = r - r^2/2 + c,  c = r*r^2*(1/3 - r/4 + r^2/5 - ... + r^6/9)
 * r^2/2 exact (two_prod); |c| <= 2^-25.5 rounded with error ~4*2^-53*|c| <= |r|*2^-69;
 * truncation r^10/10 <= |r|*2^-75.  rl enters as rl/(1+rh) ~ rl*(1 - rh + rh^2). */
static void sm__log1p_poly(double rh, double rl, double *ph, double *pl)
{
    double sh, sl, c, h, e;
    sm__two_prod(rh, rh, &sh, &sl);
    c = rh * sh * (0x1.5555555555555p-2 + rh * (-0x1p-2 + rh * (0x1.999999999999ap-3
        + rh * (-0x1.5555555555555p-3 + rh * (0x1.2492492492492p-3 + rh * (-0x1p-3
        + rh * 0x1.c71c71c71c71cp-4))))));
    sm__fast_two_sum(rh, -0.5 * sh, &h, &e);
    e = sm__add_odd(e, (rl * ((1.0 - rh) + sh) - 0.5 * sl) + c);
    sm__fast_two_sum(h, e, ph, pl);
}

/* log(2^e * m * (1 + eps)) for m in [1, 2) given by its bit pattern mbits, |eps| < 2^-52.
 * j = nearest index with |m - (1 + j/128)| <= 1/256, c = c_j ~ 1/(1 + j/128), so
 *   log(m) = -log(c) + log1p(r),  r = c*m - 1 (|r| <= 2^-8, computed EXACTLY as rh + rl:
 *   c*m = a + b by two_prod, a - 1 is exact by Sterbenz).
 * For j >= 53 (m > ~sqrt2) the table stores -log(c) - ln2 and e is bumped by one, so that
 * x in [0.707, 1.414) has e = 0: no ln2 - ln2 cancellation.  Near 1, j = 0 (c = 1) or
 * j = 128 (c = 1/2) have a zero table entry, so log(x) = log1p(x - 1) with x - 1 exact
 * and keeps full relative accuracy; elsewhere |log x| >= 2^-8.5 and the absolute error
 * ~2^-77 of log1p(r) is <= 2^-68 relative.  e*ln2 uses LN2H (42 bits, e*LN2H exact for
 * |e| < 2^11) + LN2L.  The three big terms are added with two_sum, the tails after. */
static double sm__log_kernel(int e, sm__u64 mbits, double eps)
{
    int j = (int)(((mbits >> 44) & 0xff) + 1) >> 1;
    const double *T = sm__log_tab[j];
    double m = sm__asdouble((mbits & 0xfffffffffffffULL) | 0x3ff0000000000000ULL);
    double a, b, rh, rl, ph, pl, ed, s, t1, t2;
    sm__two_prod(T[0], m, &a, &b);
    sm__two_sum(a - 1.0, b, &rh, &rl);
    sm__log1p_poly(rh, rl, &ph, &pl);
    ed = (double)(e + (j >= 53));
    sm__two_sum(ed * 0x1.62e42fefa3800p-1, T[1], &s, &t1);
    sm__two_sum(s, ph, &s, &t2);
    return s + ((t1 + t2) + (pl + (T[2] + (ed * 0x1.ef35793c76730p-45 + eps))));
}

static double sm_log(double x)
{
    sm__u64 u = sm__asuint(x);
    int e = -1023;
    if (sm_isnan(x)) return x;
    if (x < 0.0) return SM__NAN;
    if (x == 0.0) return -SM__INF;
    if (sm_isinf(x)) return x;
    if (u < 0x0010000000000000ULL) {           /* subnormal: normalise exactly */
        u = sm__asuint(x * 0x1p54);
        e -= 54;
    }
    return sm__log_kernel(e + (int)(u >> 52), u, 0.0);
}

/* log1p: for |x| < 2^-8 the polynomial directly (x is exact, full relative accuracy);
 * otherwise 1 + x = uh + ul exactly (two_sum) and log(uh + ul) = log(uh) + log1p(ul/uh),
 * where log1p(eps) = eps to 2^-106 relative.  |log1p(x)| >= 2^-8.1 there. */
static double sm_log1p(double x)
{
    double uh, ul, ph, pl;
    sm__u64 u;
    if (sm_isnan(x)) return x;
    if (x <= -1.0) return x == -1.0 ? -SM__INF : SM__NAN;
    if (sm_isinf(x)) return x;
    if (sm_fabs(x) < 0x1p-54) return x;        /* x - x^2/2 rounds to x; keeps -0 */
    if (sm_fabs(x) < 0x1p-8) {
        sm__log1p_poly(x, 0.0, &ph, &pl);
        return ph + pl;
    }
    sm__two_sum(1.0, x, &uh, &ul);             /* uh >= 2^-53: normal */
    u = sm__asuint(uh);
    return sm__log_kernel((int)(u >> 52) - 1023, u, ul / uh);
}

#undef SM__INF
#undef SM__NAN
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif /* SM_MATH_H */
