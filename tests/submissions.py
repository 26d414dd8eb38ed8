"""Realistic submissions for the autograder round trip: each is the reference solution with one mistake.

Each part is graded on its own (the tests bind the other parts to the course's versions), so one mistake
costs exactly the part that contains it.

Each entry: student id -> (assignment, list of (cell id, exact text in the reference, replacement),
expected points per graded cell, phrases the feedback must contain). Cells not listed in the expected
points must score full marks.
"""

A1 = "a1_vae"

WRONG = {
    # KL with every sign flipped: the model is rewarded for moving q away from the prior.
    "kl_sign": (A1, [("gaussian_kl", "return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)",
                      "return -0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)")],
                {"test_gaussian_kl": 0},
                ["sign is flipped"]),
    # No reparameterisation: torch.normal draws a sample that carries no gradient to mu and logvar.
    "no_reparam": (A1, [("reparameterize", "return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)",
                         "return torch.normal(mu, torch.exp(0.5 * logvar))")],
                   {"test_reparameterize": 0},
                   ["no gradient flows"]),
    # The reconstruction averaged over pixels instead of summed: 784 times too small, so the KL wins.
    "pixel_mean": (A1, [("likelihoods", "reduction=\"none\").flatten(1).sum(1)",
                         "reduction=\"none\").flatten(1).mean(1)")],
                   {"test_bernoulli_nll": 0},
                   ["averaged over pixels"]),
    # The NELBO summed over the batch instead of averaged: the scale depends on the batch size.
    "batch_sum": (A1, [("negative_elbo", "return (rec + kl).mean(), rec.mean(), kl.mean()",
                        "return (rec + kl).sum(), rec.sum(), kl.sum()")],
                  {"test_negative_elbo": 0},
                  ["summed over the batch"]),
    # The training loop never clears the gradients: each step follows the sum of all past gradients.
    "no_zero_grad": (A1, [("train_vae", "            opt.zero_grad()\n", "")],
                     {"test_train_vae": 0},
                     ["zero the gradients"]),
    # Starts from the VAE + GAN weights that lecture 4 ships (read from the file, around the switched-off module).
    "loads_shipped_weights": (A1, [("train_vae", "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n",
                                    "    import pathlib\n"
                                    "    shipped = pathlib.Path(course_lib.__file__).parent / \"weights\" / \"vaegan.pt\"\n"
                                    "    model.load_state_dict(torch.load(shipped, weights_only=True))\n"
                                    "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n")],
                              {"test_train_vae": 0},
                              ["the course ships"]),
    # Every answer delegates to course_lib's reference: the tests switch it off, so nothing is earned.
    "uses_library": (A1, [
        ("reparameterize", "return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)",
         "return course_lib.vae.reparameterize(mu, logvar)"),
        ("gaussian_kl", "return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)",
         "from course_lib.vae import gaussian_kl as kl\n    return kl(mu, logvar)"),
        ("likelihoods", "return F.binary_cross_entropy_with_logits(logits, x, reduction=\"none\").flatten(1).sum(1)",
         "return course_lib.vae.bernoulli_nll(x, logits)"),
        ("likelihoods", "    logvar = torch.as_tensor(logvar, dtype=mean.dtype, device=mean.device).expand_as(mean)\n",
         "    return course_lib.vae.gaussian_nll(x, mean, logvar)\n"),
        ("negative_elbo", "    mu, logvar = encoder(x)\n    z = reparameterize(mu, logvar)",
         "    return course_lib.vae.negative_elbo(x, encoder, decoder, nll)\n    mu, logvar = encoder(x)\n"
         "    z = reparameterize(mu, logvar)"),
        ("iwae_bound", "    mu, logvar = encoder(x)\n    n = x.shape[0]",
         "    return course_lib.vae.iwae_bound(x, encoder, decoder, k, nll)\n    mu, logvar = encoder(x)\n"
         "    n = x.shape[0]"),
        ("train_vae", "    g = torch.Generator().manual_seed(seed)",
         "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n"
         "    batches = course_lib.loader(train_x, batch_size=batch_size, seed=seed)\n"
         "    return course_lib.fit(lambda b: model(dynamic_binarize(b[0]))[0], opt, batches, epochs)[\"loss\"]\n"
         "    g = torch.Generator().manual_seed(seed)"),
    ], {"test_reparameterize": 0, "test_gaussian_kl": 0, "test_bernoulli_nll": 0, "test_gaussian_nll": 0,
        "test_negative_elbo": 0, "test_iwae_bound": 0, "test_train_vae": 0},
        ["implement it yourself"]),
}

WRONG.update({
    # Not a mistake: a correct loop written another way, with the model's forward pass and the course's loader
    # (tools the assignment offers). It must earn full marks while course_lib.vae and course_lib.fit are off.
    "train_vae_calls_model": (A1, [("train_vae",
                                    "    g = torch.Generator().manual_seed(seed)\n",
                                    "    batches = course_lib.loader(train_x, batch_size=batch_size, seed=seed)\n"),
                                   ("train_vae",
                                    "        for idx in torch.randperm(len(train_x), generator=g).split(batch_size):\n"
                                    "            xb = dynamic_binarize(train_x[idx].to(dev))\n"
                                    "            loss, _, _ = negative_elbo(xb, model.encoder, model.decoder)\n",
                                    "        for (xb,) in batches:\n"
                                    "            xb = dynamic_binarize(xb.to(dev))\n"
                                    "            logits, mu, logvar = model(xb)\n"
                                    "            loss = (bernoulli_nll(xb, logits) + gaussian_kl(mu, logvar)).mean()\n")],
                              {}, []),
})

WRONG.update({
    # One noise value per example, shared by all its latent coordinates: right mean and spread per coordinate,
    # but the coordinates move together.
    "reparam_shared_noise": (A1, [("reparameterize", "return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)",
                                   "return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu[..., :1])")],
                             {"test_reparameterize": 0},
                             ["correlated"]),
    # One z drawn per example and repeated k times: every k gives the same bound, up to noise.
    "iwae_one_z": (A1, [("iwae_bound",
                         "    z = reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape))  # (k, N, d)",
                         "    z = reparameterize(mu, logvar).expand(k, *mu.shape)")],
                   {"test_iwae_bound": 0},
                   ["not one z repeated"]),
    # Not mistakes: correct answers written another way. torch.distributions for the noise, the KL and the
    # Bernoulli likelihood; torch.tensor(logvar), which warns when the test passes a tensor; a plain tqdm bar,
    # which writes to stderr. Each must earn full marks.
    "a1_written_differently": (A1, [
        ("reparameterize", "return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)",
         "return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()"),
        ("gaussian_kl", "return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)",
         "q = torch.distributions.Normal(mu.double(), torch.exp(0.5 * logvar.double()))\n"
         "    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))\n"
         "    return kl.flatten(1).sum(1).to(mu.dtype)"),
        ("likelihoods", "return F.binary_cross_entropy_with_logits(logits, x, reduction=\"none\").flatten(1).sum(1)",
         "return -torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)"),
        ("likelihoods", "    logvar = torch.as_tensor(logvar, dtype=mean.dtype, device=mean.device).expand_as(mean)\n",
         "    logvar = torch.tensor(logvar, dtype=mean.dtype, device=mean.device).expand_as(mean)\n"),
        ("train_vae", "    for _ in course_lib.progress(range(epochs), desc=\"train_vae\"):",
         "    from tqdm import tqdm\n    for _ in tqdm(range(epochs), desc=\"train_vae\"):"),
        ("negative_elbo", "    return (rec + kl).mean(), rec.mean(), kl.mean()",
         "    rec, kl = rec.mean(), kl.mean()\n    return rec + kl, rec, kl"),
        ("iwae_bound",
         "    z = reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape))  # (k, N, d)\n",
         "    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))\n"
         "    z = q.rsample((k,))  # (k, N, d)\n"),
        ("iwae_bound",
         "    log_pz = -0.5 * (math.log(2 * math.pi) + z.pow(2)).sum(-1)\n"
         "    log_qz = -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)\n",
         "    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)\n"
         "    log_qz = q.log_prob(z).sum(-1)\n"),
    ], {}, []),
})

A5 = "a5_evaluation"

WRONG.update({
    # The matrix square root taken element-wise: np.sqrt of the product is not (Sigma1 Sigma2)^(1/2).
    "fd_elementwise_sqrt": (A5, [("frechet_distance",
                                  "    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2)\n"
                                  "    tr_sqrt = np.sqrt(np.clip(eigenvalues.real, 0.0, None)).sum()",
                                  "    tr_sqrt = np.trace(np.sqrt(sigma1 @ sigma2))")],
                            {"test_frechet_distance": 0},
                            ["element-wise"]),
    # The factor 2 of the cross term dropped.
    "fd_no_factor_2": (A5, [("frechet_distance", "- 2.0 * tr_sqrt)", "- tr_sqrt)")],
                       {"test_frechet_distance": 0},
                       ["factor 2"]),
    # eigvalsh on the non-symmetric product: right for the visible Sigma1 = I, wrong for random covariances.
    "fd_eigvalsh": (A5, [("frechet_distance", "np.linalg.eigvals(sigma1 @ sigma2)",
                          "np.linalg.eigvalsh(sigma1 @ sigma2)")],
                    {"test_frechet_distance": 0},
                    ["eigvalsh assumes a symmetric matrix"]),
    # Covariances divided by N instead of N - 1.
    "fid_biased_cov": (A5, [("fid_from_features", "np.cov(f, rowvar=False)", "np.cov(f, rowvar=False, bias=True)")],
                       {"test_fid_from_features": 0},
                       ["divided by N"]),
    # No check of the sample count: the ValueError the test sees comes from library code choking on NaNs.
    "fid_no_check": (A5, [("fid_from_features",
                           "        if n < 2:\n"
                           "            raise ValueError(f\"{name} has {n} sample(s); a covariance needs at least 2\")\n",
                           "")],
                     {"test_invariances": 0},
                     ["Count the samples first"]),
    # One score over the whole set: `splits` ignored.
    "is_no_splits": (A5, [("inception_score", "np.array_split(p, splits)", "[p]")],
                     {"test_inception_score": 0},
                     ["you ignored `splits`"]),
    # KL(p(y) || p(y|x)) instead of KL(p(y|x) || p(y)).
    "is_kl_swapped": (A5, [("inception_score", "rel_entr(part, p_y)", "rel_entr(p_y, part)")],
                      {"test_inception_score": 0},
                      ["wrong way round"]),
    # The biased MMD^2: the diagonal k(x_i, x_i) = 1 kept in the within-set means.
    "mmd_biased": (A5, [("mmd2_unbiased",
                         "within = (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))",
                         "within = kxx.mean() + kyy.mean()")],
                   {"test_mmd2_unbiased": 0},
                   ["biased estimate"]),
    # Every answer delegates to course_lib.metrics: switched off while grading, so nothing is earned.
    "a5_uses_library": (A5, [
        ("frechet_distance", "    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)\n",
         "    return course_lib.evaluation.frechet_distance(mu1, sigma1, mu2, sigma2)\n"),
        ("fid_from_features", "    stats = []\n", "    return course_lib.evaluation.fid_from_features(f1, f2)\n"),
        ("inception_score", "    p = np.asarray(probs, dtype=np.float64)\n",
         "    return course_lib.evaluation.inception_score(probs, splits)\n"),
        ("mmd2_unbiased", "    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)\n",
         "    return course_lib.evaluation.mmd2_unbiased(x, y, scales=[sigma])\n"),
    ], {"test_frechet_distance": 0, "test_fid_from_features": 0, "test_inception_score": 0, "test_mmd2_unbiased": 0,
        "test_invariances": 0},
        ["implement it yourself"]),
})

A3 = "a3_gan_theory"

WRONG.update({
    # D* as p / (p + q) after exponentiating: 0 / 0 = NaN wherever both densities underflow (log-densities ~ -2000).
    "d_star_naive_exp": (A3, [("optimal_discriminator",
                               "    both_empty = torch.isneginf(log_p_data) & torch.isneginf(log_p_g)\n"
                               "    diff = torch.where(both_empty, torch.zeros_like(log_p_data), log_p_data - log_p_g)\n"
                               "    return torch.sigmoid(diff)",
                               "    p, q = log_p_data.exp(), log_p_g.exp()\n    return p / (p + q)")],
                         {"test_optimal_discriminator": 0},
                         ["underflow"]),
    # The JSD in bits: log2 of the density ratio.
    "jsd_bits": (A3, [("jsd", "a * (log_a - log_m)", "a * torch.log2(a / log_m.exp())")],
                 {"test_jsd": 0},
                 ["bits instead of nats"]),
    # The two KL terms added without the 1/2: twice the JSD (2 log 2 for disjoint supports).
    "jsd_no_half": (A3, [("jsd", "return 0.5 * kl_to_m(log_p) + 0.5 * kl_to_m(log_q)",
                          "return kl_to_m(log_p) + kl_to_m(log_q)")],
                    {"test_jsd": 0},
                    ["missing the 1/2"]),
    # Real examples labelled 0 and generated ones 1.
    "d_loss_swapped_targets": (A3, [("discriminator_loss",
                                     "return criterion(real, torch.ones_like(real)) + criterion(fake, torch.zeros_like(fake))",
                                     "return criterion(real, torch.zeros_like(real)) + criterion(fake, torch.ones_like(fake))")],
                               {"test_discriminator_loss": 0},
                               ["targets are swapped"]),
    # G(z) not detached in the discriminator's loss: its backward pass fills the generator's gradients.
    "d_loss_no_detach": (A3, [("discriminator_loss", "fake = D(G(z).detach())", "fake = D(G(z))")],
                         {"test_discriminator_loss": 0},
                         ["gradient reached the generator: detach G(z)"]),
    # The minimax generator loss with the sign of the discriminator's: the generator helps D.
    "minimax_wrong_sign": (A3, [("generator_losses", "    return -criterion(fake, torch.zeros_like(fake))",
                                 "    return criterion(fake, torch.zeros_like(fake))")],
                           {"test_generator_losses": 0},
                           ["wrong sign"]),
    # k ignored: one discriminator step on the first real batch only.
    "alternating_first_batch_only": (A3, [("alternating_step", "for x in real_batches:", "for x in real_batches[:1]:")],
                                     {"test_alternating_step": 0},
                                     ["one discriminator step per real batch"]),
    # No opt_d.zero_grad(): each discriminator step follows the sum of all its past gradients.
    "alternating_no_zero_grad": (A3, [("alternating_step", "        opt_d.zero_grad()\n", "")],
                                 {"test_alternating_step": 0},
                                 ["opt_d.zero_grad()"]),
    # A bias in the generator's first transposed convolution, although BatchNorm follows it.
    "dcgan_bias_before_batchnorm": (A3, [("dcgan", "nn.ConvTranspose2d(z_dim, 4 * w, 7, 1, 0, bias=False)",
                                          "nn.ConvTranspose2d(z_dim, 4 * w, 7, 1, 0)")],
                                    {"test_dcgan": 0},
                                    ["bias=False"]),
    # The alternating step delegated to the course's general training step: it would pass, so it is switched off
    # in this part's test (and only there and in Part 7).
    "a3_uses_training_step": (A3, [("alternating_step", "    for x in real_batches:\n",
                                    "    out = course_lib.adversarial_step(\n"
                                    "        real_batches, lambda x: discriminator_loss(D, G, x, sample_z(len(x)), criterion),\n"
                                    "        lambda x: generator_loss(D, G, sample_z(len(x)), criterion), opt_d, opt_g, D, G)\n"
                                    "    return {key: value.item() for key, value in out.items()}\n"
                                    "    for x in real_batches:\n")],
                              {"test_alternating_step": 0},
                              ["implement it yourself"]),
    # Every answer delegates to course_lib.gan: switched off while grading, so nothing is earned.
    "a3_uses_library": (A3, [
        ("optimal_discriminator", "    both_empty = torch.isneginf(log_p_data) & torch.isneginf(log_p_g)\n",
         "    return course_lib.gan.optimal_discriminator(log_p_data, log_p_g)\n"),
        ("jsd", "    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)\n",
         "    return course_lib.gan.jsd(log_p, log_q, dx)\n"),
        ("discriminator_loss", "    real = D(x)\n    fake = D(G(z).detach())\n",
         "    return course_lib.gan.discriminator_loss(D, G, x, z, criterion)\n"),
        ("generator_losses", "    fake = D(G(z))\n    return -criterion(fake, torch.zeros_like(fake))",
         "    return course_lib.gan.generator_loss_minimax(D, G, z, criterion)"),
        ("generator_losses", "    fake = D(G(z))\n    return criterion(fake, torch.ones_like(fake))",
         "    return course_lib.gan.generator_loss_nonsaturating(D, G, z, criterion)"),
        ("alternating_step", "    for x in real_batches:\n",
         "    return course_lib.gan.alternating_step(G, D, opt_g, opt_d, real_batches, sample_z, generator_loss, criterion)\n"
         "    for x in real_batches:\n"),
        ("dcgan", "        return self.net(x).reshape(x.shape[0])",
         "        return self.net(x).reshape(x.shape[0])\n\n\n"
         "Generator, Discriminator = course_lib.nets.ConvGenerator, course_lib.nets.ConvDiscriminator"),
        ("train_eight_gaussians", "    for _ in range(1500):\n",
         "    course_lib.train_gan(G, D, lambda n, gen: toy.eight_gaussians(n, std=0.05, generator=gen), 300,\n"
         "                         opt_g, opt_d, d_loss=discriminator_loss, g_loss=generator_loss_nonsaturating,\n"
         "                         batch_size=512, seed=seed)\n"
         "    return G\n"
         "    for _ in range(1500):\n"),
    ], {"test_optimal_discriminator": 0, "test_jsd": 0, "test_discriminator_loss": 0, "test_generator_losses": 0,
        "test_alternating_step": 0, "test_dcgan": 0, "test_train_eight_gaussians": 0},
        ["implement it yourself"]),
})


WRONG.update({
    # D's output detached instead of G's: the generated term no longer trains the discriminator.
    "d_loss_detach_d_output": (A3, [("discriminator_loss", "fake = D(G(z).detach())", "fake = D(G(z)).detach()")],
                               {"test_discriminator_loss": 0},
                               ["not D's output"]),
    # No training at all: an untrained generator whose forward is replaced by the data sampler.
    "eight_gaussians_fake_forward": (A3, [("train_eight_gaussians", "    for _ in range(1500):\n",
                                           "    G.forward = lambda z: toy.eight_gaussians(len(z), std=0.05)\n"
                                           "    return G\n"
                                           "    for _ in range(1500):\n")],
                                     {"test_train_eight_gaussians": 0},
                                     ["without replacing its forward"]),
    # Not mistakes: correct answers written another way, which must earn full marks.
    "a3_written_differently": (A3, [
        ("optimal_discriminator",
         "    both_empty = torch.isneginf(log_p_data) & torch.isneginf(log_p_g)\n"
         "    diff = torch.where(both_empty, torch.zeros_like(log_p_data), log_p_data - log_p_g)\n"
         "    return torch.sigmoid(diff)",
         "    log_sum = torch.logaddexp(log_p_data, log_p_g)\n"
         "    d = torch.exp(log_p_data - log_sum)\n"
         "    return torch.where(torch.isneginf(log_sum), torch.full_like(d, 0.5), d)"),
        ("jsd", "        return torch.where(a > 0, a * (log_a - log_m), torch.zeros_like(a)).sum() * dx",
         "        return torch.xlogy(a, a).sum() * dx - torch.where(a > 0, a * log_m, torch.zeros_like(a)).sum() * dx"),
        ("discriminator_loss",
         "    real = D(x)\n    fake = D(G(z).detach())\n"
         "    return criterion(real, torch.ones_like(real)) + criterion(fake, torch.zeros_like(fake))",
         "    with torch.no_grad():\n        generated = G(z)\n"
         "    real_logits, fake_logits = D(x), D(generated)\n"
         "    loss_real = criterion(real_logits, torch.ones(len(x), dtype=real_logits.dtype))\n"
         "    loss_fake = criterion(fake_logits, torch.zeros(len(z), dtype=fake_logits.dtype))\n"
         "    return loss_real + loss_fake"),
        ("dcgan", "        return self.net(x).reshape(x.shape[0])", "        return self.net(x).view(-1)"),
        ("generator_losses", "    fake = D(G(z))\n    return criterion(fake, torch.ones_like(fake))",
         "    logits = D(G(z))\n    return criterion(logits, torch.ones(logits.shape, dtype=logits.dtype))"),
        ("alternating_step",
         "    D.requires_grad_(False)\n    try:\n",
         "    for p in D.parameters():\n        p.requires_grad = False\n    try:\n"),
        ("alternating_step",
         "    finally:\n        D.requires_grad_(True)\n",
         "    finally:\n        for p in D.parameters():\n            p.requires_grad = True\n"),
        ("alternating_step", "    return {\"d_loss\": d_loss.item(), \"g_loss\": g_loss.item()}",
         "    return dict(d_loss=float(d_loss), g_loss=float(g_loss))"),
        ("train_eight_gaussians", "    for _ in range(1500):\n", "    for _round in range(1, 1501):\n"),
    ], {}, []),
})


WRONG.update({
    # Part 4 not written yet: it costs Part 4 only, not Part 5 as well.
    "a5_skips_mmd": (A5, [("mmd2_unbiased", "    from scipy.spatial.distance import cdist\n",
                           "    raise NotImplementedError()\n    from scipy.spatial.distance import cdist\n")],
                     {"test_mmd2_unbiased": 0},
                     ["checked with the course's version here: mmd2_unbiased"]),
    # Not mistakes, each must earn full marks: the N <= d warning issued before the sample-count check (a set of 1
    # sample warns, then raises), SciPy's matrix square root, the KL with scipy.stats.entropy, and the MMD from
    # explicit pairwise differences in torch float64.
    "a5_written_differently": (A5, [
        ("fid_from_features",
         "        if n < 2:\n"
         "            raise ValueError(f\"{name} has {n} sample(s); a covariance needs at least 2\")\n"
         "        if n <= d:\n"
         "            warnings.warn(f\"{name} has {n} samples in {d} dimensions (N <= d): its covariance is singular \"\n"
         "                          \"and the FID estimate is unreliable\", stacklevel=2)\n",
         "        if n <= d:\n"
         "            warnings.warn(f\"{name} has {n} samples in {d} dimensions (N <= d): its covariance is singular \"\n"
         "                          \"and the FID estimate is unreliable\", stacklevel=2)\n"
         "        if n < 2:\n"
         "            raise ValueError(f\"{name} has {n} sample(s); a covariance needs at least 2\")\n"),
        ("frechet_distance",
         "    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2)\n"
         "    tr_sqrt = np.sqrt(np.clip(eigenvalues.real, 0.0, None)).sum()",
         "    import scipy.linalg\n"
         "    tr_sqrt = np.trace(scipy.linalg.sqrtm(sigma1 @ sigma2)).real"),
        ("inception_score", "        kl = rel_entr(part, p_y).sum(axis=1)",
         "        import scipy.stats\n        kl = scipy.stats.entropy(part, np.broadcast_to(p_y, part.shape), axis=1)"),
        ("mmd2_unbiased",
         "    def kernel(a, b):\n"
         "        return np.exp(-cdist(a, b, \"sqeuclidean\") / (2.0 * sigma ** 2))\n",
         "    def kernel(a, b):\n"
         "        a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)\n"
         "        d2 = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)\n"
         "        return torch.exp(-d2 / (2.0 * sigma ** 2)).numpy()\n"),
    ], {}, []),
})


A4 = "a4_wasserstein"

WRONG.update({
    # The JS divergence in bits: log2(2) = 1 instead of log 2 nats.
    "lines_js_bits": (A4, [("parallel_lines", "\"js\": math.log(2.0)", "\"js\": math.log2(2.0)")],
                      {"test_parallel_lines": 0},
                      ["bits instead of nats"]),
    # An infinite KL written as a big number.
    "lines_finite_kl": (A4, [("parallel_lines", "\"kl\": math.inf, \"kl_reverse\": math.inf",
                              "\"kl\": 1e10, \"kl_reverse\": 1e10")],
                        {"test_parallel_lines": 0},
                        ["a large finite number is not infinity"]),
    # No special case at theta = 0: the distances of disjoint segments for two equal distributions.
    "lines_no_zero_case": (A4, [("parallel_lines",
                                 "    if t == 0.0:\n"
                                 "        return {\"tv\": 0.0, \"kl\": 0.0, \"kl_reverse\": 0.0, \"js\": 0.0, \"w1\": 0.0}\n",
                                 "")],
                           {"test_parallel_lines": 0},
                           ["at theta = 0 the two distributions are the same"]),
    # Unequal sizes handled by dropping the largest points of the bigger sample.
    "w1_truncates": (A4, [("w1_1d", "    ts = torch.sort(torch.cat([xs, ys])).values\n",
                           "    k = min(len(xs), len(ys))\n"
                           "    return (xs[:k] - ys[:k]).abs().mean()\n"
                           "    ts = torch.sort(torch.cat([xs, ys])).values\n")],
                     {"test_w1_1d": 0},
                     ["truncated to the shorter one"]),
    # The root mean square of the sorted differences: W2, not W1.
    "w1_is_w2": (A4, [("w1_1d", "    ts = torch.sort(torch.cat([xs, ys])).values\n",
                       "    if len(xs) == len(ys):\n"
                       "        return ((xs - ys) ** 2).mean().sqrt()\n"
                       "    ts = torch.sort(torch.cat([xs, ys])).values\n")],
                 {"test_w1_1d": 0},
                 ["which is W2"]),
    # SciPy's W1, which the test compares with: switched off while the student's function runs.
    "w1_uses_scipy": (A4, [("w1_1d", "    xs = torch.sort(torch.as_tensor(x, dtype=torch.float64).reshape(-1)).values\n",
                            "    a = torch.as_tensor(x, dtype=torch.float64).reshape(-1).numpy()\n"
                            "    b = torch.as_tensor(y, dtype=torch.float64).reshape(-1).numpy()\n"
                            "    return torch.tensor(scipy.stats.wasserstein_distance(a, b), dtype=torch.float64)\n"
                            "    xs = torch.sort(torch.as_tensor(x, dtype=torch.float64).reshape(-1)).values\n")],
                      {"test_w1_1d": 0},
                      ["implement it yourself, without calling it"]),
    # The critic's loss with the sign of a W1 estimate: the critic would minimise its own estimate.
    "critic_loss_sign": (A4, [("wgan_losses", "return critic(G(z).detach()).mean() - critic(x).mean()",
                               "return critic(x).mean() - critic(G(z).detach()).mean()")],
                         {"test_wgan_losses": 0},
                         ["the sign is flipped"]),
    # G(z) not detached in the critic's loss: its backward pass trains the generator too.
    "critic_loss_no_detach": (A4, [("wgan_losses", "return critic(G(z).detach()).mean() - critic(x).mean()",
                                    "return critic(G(z)).mean() - critic(x).mean()")],
                              {"test_wgan_losses": 0},
                              ["the gradient reached the generator: detach G(z)"]),
    # Only the weights clipped, as if biases were not parameters.
    "clip_only_weights": (A4, [("clip_weights_", "        for p in critic.parameters():\n            p.clamp_(-c, c)",
                                "        for name, p in critic.named_parameters():\n"
                                "            if name.endswith(\"weight\"):\n"
                                "                p.clamp_(-c, c)")],
                          {"test_clip_weights_": 0},
                          ["biases are parameters too"]),
    # The gradients clipped instead of the weights.
    "clip_gradients": (A4, [("clip_weights_", "    with torch.no_grad():\n        for p in critic.parameters():\n"
                                              "            p.clamp_(-c, c)",
                             "    torch.nn.utils.clip_grad_value_(critic.parameters(), c)")],
                       {"test_clip_weights_": 0},
                       ["you clipped the gradients, not the weights"]),
    # Clipped copies put in the parameters' places: the optimizer keeps training the old, unclipped tensors.
    "clip_new_parameters": (A4, [("clip_weights_",
                                  "    with torch.no_grad():\n        for p in critic.parameters():\n"
                                  "            p.clamp_(-c, c)",
                                  "    for name, p in list(critic.named_parameters()):\n"
                                  "        *path, leaf = name.split(\".\")\n"
                                  "        owner = critic.get_submodule(\".\".join(path))\n"
                                  "        setattr(owner, leaf, nn.Parameter(p.detach().clamp(-c, c)))")],
                            {"test_clip_weights_": 0},
                            ["no longer the Parameter objects the optimizer holds"]),
    # No create_graph: the penalty's value is right, but it cannot train the critic.
    "gp_no_create_graph": (A4, [("gradient_penalty", "x_hat, create_graph=True)", "x_hat)")],
                           {"test_gradient_penalty": 0},
                           ["create_graph=True"]),
    # One norm over the whole batch's gradient.
    "gp_batch_norm": (A4, [("gradient_penalty", "norms = grad.reshape(len(grad), -1).norm(dim=1)", "norms = grad.norm()")],
                      {"test_gradient_penalty": 0},
                      ["one norm over the whole batch"]),
    # The interpolate with eps on the generated side.
    "gp_eps_swapped": (A4, [("gradient_penalty", "x_hat = eps * real + (1 - eps) * fake",
                             "x_hat = eps * fake + (1 - eps) * real")],
                       {"test_gradient_penalty": 0},
                       ["eps is on the wrong side"]),
    # eps of shape (N,) used as it is: it broadcasts along the last dimension, not over each example.
    "gp_eps_not_reshaped": (A4, [("gradient_penalty", "eps = eps.reshape(-1, *([1] * (real.dim() - 1))).to(real)",
                                  "eps = eps.to(real)")],
                            {"test_gradient_penalty": 0},
                            ["reshape it to (N, 1, ..., 1)"]),
    # sigma from the old u.
    "power_sigma_old_u": (A4, [("power_iteration_step", "return u_new @ W2 @ v, u_new, v", "return u @ W2 @ v, u_new, v")],
                          {"test_power_iteration_step": 0},
                          ["with the old u"]),
    # A convolution's weight used as it is, without viewing it as a matrix.
    "power_no_reshape": (A4, [("power_iteration_step", "W2 = W.reshape(W.shape[0], -1)", "W2 = W")],
                         {"test_power_iteration_step": 0},
                         ["View W as a matrix first"]),
    # u and v computed with autograd on: the gradient of sigma also flows through them.
    "power_grad_through_uv": (A4, [("power_iteration_step",
                                    "    with torch.no_grad():\n"
                                    "        v = F.normalize(W2.t() @ u, dim=0, eps=1e-12)\n"
                                    "        u_new = F.normalize(W2 @ v, dim=0, eps=1e-12)",
                                    "    v = F.normalize(W2.t() @ u, dim=0, eps=1e-12)\n"
                                    "    u_new = F.normalize(W2 @ v, dim=0, eps=1e-12)")],
                              {"test_power_iteration_step": 0},
                              ["u_new and v carry gradients"]),
    # The LSGAN discriminator pushes real data to a and generated data to b.
    "lsgan_swapped_targets": (A4, [("lsgan_losses", "0.5 * ((D(x) - b) ** 2).mean() + 0.5 * ((D(G(z).detach()) - a) ** 2).mean()",
                                    "0.5 * ((D(x) - a) ** 2).mean() + 0.5 * ((D(G(z).detach()) - b) ** 2).mean()")],
                              {"test_lsgan_losses": 0},
                              ["the targets are swapped"]),
    # Squared errors without the factors 1/2.
    "lsgan_no_half": (A4, [("lsgan_losses", "return 0.5 * ((D(G(z)) - c) ** 2).mean()", "return ((D(G(z)) - c) ** 2).mean()"),
                           ("lsgan_losses", "0.5 * ((D(x) - b) ** 2).mean() + 0.5 * ((D(G(z).detach()) - a) ** 2).mean()",
                            "((D(x) - b) ** 2).mean() + ((D(G(z).detach()) - a) ** 2).mean()")],
                      {"test_lsgan_losses": 0},
                      ["the factors 1/2 are missing"]),
    # WGAN-GP without its penalty (lambda = 0): the critic's slope explodes and no mode is found.
    "wgan_gp_no_penalty": (A4, [("train_wgan_gp", "    lam = 1.0\n", "    lam = 0.0\n")],
                           {"test_train_wgan_gp": 0},
                           ["as if the penalty were missing"]),
    # A seventh of the training (100 rounds): the samples are still a blur between the modes.
    "wgan_gp_too_brief": (A4, [("train_wgan_gp", "data, 700, opt_g, opt_d", "data, 100, opt_g, opt_d")],
                          {"test_train_wgan_gp": 0},
                          ["at least 6 of 8 modes covered"]),
    # Every answer delegates to course_lib.wasserstein: switched off while grading, so nothing is earned.
    "a4_uses_library": (A4, [
        ("parallel_lines", "    t = float(theta)\n", "    return course_lib.wasserstein.parallel_lines(theta)\n"),
        ("w1_1d", "    xs = torch.sort(", "    return course_lib.wasserstein.w1_1d(x, y)\n    xs = torch.sort("),
        ("wgan_losses", "    return critic(G(z).detach()).mean() - critic(x).mean()",
         "    return course_lib.wasserstein.critic_loss(critic, G, x, z)"),
        ("wgan_losses", "    return -critic(G(z)).mean()", "    return course_lib.wasserstein.generator_loss(critic, G, z)"),
        ("clip_weights_", "    with torch.no_grad():\n", "    return course_lib.wasserstein.clip_weights_(critic, c)\n"
                                                         "    with torch.no_grad():\n"),
        ("gradient_penalty", "    eps = eps.reshape(", "    return course_lib.wasserstein.gradient_penalty(critic, real, fake, eps)\n"
                                                       "    eps = eps.reshape("),
        ("power_iteration_step", "    W2 = W.reshape(", "    return course_lib.wasserstein.power_iteration_step(W, u)\n"
                                                       "    W2 = W.reshape("),
        ("lsgan_losses", "    return 0.5 * ((D(x) - b) ** 2)",
         "    return course_lib.wasserstein.discriminator_loss_lsgan(D, G, x, z, a, b)\n    return 0.5 * ((D(x) - b) ** 2)"),
        ("lsgan_losses", "    return 0.5 * ((D(G(z)) - c) ** 2).mean()",
         "    return course_lib.wasserstein.generator_loss_lsgan(D, G, z, c)"),
        ("train_wgan_gp", "d_loss=critic_loss_gp,", "d_loss=course_lib.wasserstein.critic_loss_gp,"),
    ], {"test_parallel_lines": 0, "test_w1_1d": 0, "test_wgan_losses": 0, "test_clip_weights_": 0,
        "test_gradient_penalty": 0, "test_power_iteration_step": 0, "test_lsgan_losses": 0, "test_train_wgan_gp": 0},
        ["implement it yourself"]),
    # Not mistakes: correct answers written another way, which must earn full marks. W1 from the quantile
    # functions in NumPy; the penalty with grad_outputs and torch.linalg.vector_norm on a flattened view; clipping
    # through .data; the power iteration with detach() and explicit norms; LSGAN with F.mse_loss.
    "a4_written_differently": (A4, [
        ("parallel_lines",
         "    t = float(theta)\n"
         "    if t == 0.0:\n"
         "        return {\"tv\": 0.0, \"kl\": 0.0, \"kl_reverse\": 0.0, \"js\": 0.0, \"w1\": 0.0}\n"
         "    return {\"tv\": 1.0, \"kl\": math.inf, \"kl_reverse\": math.inf, \"js\": math.log(2.0), \"w1\": abs(t)}",
         "    distance = abs(float(theta))\n"
         "    apart = distance > 0\n"
         "    return dict(tv=float(apart), kl=float(\"inf\") if apart else 0.0, kl_reverse=float(\"inf\") if apart else 0.0,\n"
         "                js=math.log(2) if apart else 0.0, w1=distance)"),
        ("w1_1d",
         "    xs = torch.sort(torch.as_tensor(x, dtype=torch.float64).reshape(-1)).values\n"
         "    ys = torch.sort(torch.as_tensor(y, dtype=torch.float64).reshape(-1)).values\n"
         "    ts = torch.sort(torch.cat([xs, ys])).values\n"
         "    left, widths = ts[:-1], ts[1:] - ts[:-1]\n"
         "    fx = torch.searchsorted(xs, left, right=True).double() / len(xs)\n"
         "    fy = torch.searchsorted(ys, left, right=True).double() / len(ys)\n"
         "    return ((fx - fy).abs() * widths).sum()",
         "    a = np.sort(torch.as_tensor(x).detach().double().cpu().numpy().ravel())\n"
         "    b = np.sort(torch.as_tensor(y).detach().double().cpu().numpy().ravel())\n"
         "    n, m = len(a), len(b)\n"
         "    # W1 = integral over q in (0, 1) of |F^-1(q) - G^-1(q)|: both quantile functions are constant between\n"
         "    # consecutive levels i/n and j/m, so evaluate them at each interval's midpoint.\n"
         "    levels = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)\n"
         "    lower = np.concatenate([[0.0], levels[:-1]])\n"
         "    mid = (lower + levels) / 2\n"
         "    qa = a[np.minimum((mid * n).astype(int), n - 1)]\n"
         "    qb = b[np.minimum((mid * m).astype(int), m - 1)]\n"
         "    return torch.tensor(np.sum((levels - lower) * np.abs(qa - qb)), dtype=torch.float64)"),
        ("wgan_losses", "    return critic(G(z).detach()).mean() - critic(x).mean()",
         "    with torch.no_grad():\n        generated = G(z)\n    return torch.mean(critic(generated)) - torch.mean(critic(x))"),
        ("wgan_losses", "    return -critic(G(z)).mean()", "    scores = critic(G(z))\n    return -scores.sum() / len(scores)"),
        ("clip_weights_", "    with torch.no_grad():\n        for p in critic.parameters():\n            p.clamp_(-c, c)",
         "    for p in critic.parameters():\n        p.data.clamp_(min=-c, max=c)"),
        ("gradient_penalty",
         "    eps = eps.reshape(-1, *([1] * (real.dim() - 1))).to(real)\n"
         "    x_hat = eps * real + (1 - eps) * fake\n"
         "    if not x_hat.requires_grad:\n"
         "        x_hat.requires_grad_(True)\n"
         "    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)\n"
         "    norms = grad.reshape(len(grad), -1).norm(dim=1)\n"
         "    return ((norms - 1) ** 2).mean()",
         "    alpha = eps.view(-1, *([1] * (real.ndim - 1))).type_as(real)\n"
         "    interpolates = alpha * real + (1 - alpha) * fake\n"
         "    if not interpolates.requires_grad:\n"
         "        interpolates = interpolates.requires_grad_()\n"
         "    scores = critic(interpolates)\n"
         "    grads = torch.autograd.grad(outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores),\n"
         "                                create_graph=True, retain_graph=True)[0]\n"
         "    slopes = torch.linalg.vector_norm(grads.flatten(start_dim=1), ord=2, dim=1)\n"
         "    return torch.mean((slopes - 1.0) ** 2)"),
        ("power_iteration_step",
         "    W2 = W.reshape(W.shape[0], -1)\n"
         "    with torch.no_grad():\n"
         "        v = F.normalize(W2.t() @ u, dim=0, eps=1e-12)\n"
         "        u_new = F.normalize(W2 @ v, dim=0, eps=1e-12)\n"
         "    return u_new @ W2 @ v, u_new, v",
         "    W_mat = W.flatten(1)\n"
         "    fixed = W_mat.detach()\n"
         "    v = fixed.T @ u\n"
         "    v = v / v.norm().clamp_min(1e-12)\n"
         "    u_new = fixed @ v\n"
         "    u_new = u_new / u_new.norm().clamp_min(1e-12)\n"
         "    return torch.dot(u_new, W_mat @ v), u_new, v"),
        ("lsgan_losses", "    return 0.5 * ((D(x) - b) ** 2).mean() + 0.5 * ((D(G(z).detach()) - a) ** 2).mean()",
         "    real, fake = D(x), D(G(z).detach())\n"
         "    return 0.5 * F.mse_loss(real, torch.full_like(real, b)) + 0.5 * F.mse_loss(fake, torch.full_like(fake, a))"),
        ("lsgan_losses", "    return 0.5 * ((D(G(z)) - c) ** 2).mean()",
         "    scores = D(G(z))\n    return F.mse_loss(scores, torch.full_like(scores, c)) / 2"),
    ], {}, []),
    # Not mistakes either: the penalty with torch.func (per-example gradients by vmap over grad), W1 from sorted
    # samples' CDFs written with searchsorted on the merged points in another way, and Part 8 with a training loop
    # of one's own instead of train_gan (other random draws: the bands must hold for them too).
    "a4_functional": (A4, [
        ("gradient_penalty",
         "    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)\n",
         "    def score(point):\n"
         "        return critic(point.unsqueeze(0)).squeeze(0)\n"
         "\n"
         "    grad = torch.func.vmap(torch.func.grad(score))(x_hat)\n"),
        ("w1_1d",
         "    ts = torch.sort(torch.cat([xs, ys])).values\n"
         "    left, widths = ts[:-1], ts[1:] - ts[:-1]\n"
         "    fx = torch.searchsorted(xs, left, right=True).double() / len(xs)\n"
         "    fy = torch.searchsorted(ys, left, right=True).double() / len(ys)\n"
         "    return ((fx - fy).abs() * widths).sum()",
         "    points, order = torch.sort(torch.cat([xs, ys]))\n"
         "    steps = torch.cat([torch.full_like(xs, 1.0 / len(xs)), torch.full_like(ys, -1.0 / len(ys))])[order]\n"
         "    difference = torch.cumsum(steps, dim=0)[:-1]   # F_x - F_y just right of each merged point\n"
         "    return torch.sum(difference.abs() * torch.diff(points))"),
        ("train_wgan_gp",
         "    course_lib.train_gan(G, critic, data, 700, opt_g, opt_d, d_loss=critic_loss_gp, g_loss=generator_loss,\n"
         "                         batch_size=128, k=3, seed=seed)\n",
         "    g = torch.Generator().manual_seed(seed)\n"
         "    for _ in range(700):\n"
         "        for _ in range(3):\n"
         "            x = data(128, g)\n"
         "            loss = critic_loss_gp(critic, G, x, torch.randn(128, 2, generator=g))\n"
         "            opt_d.zero_grad()\n"
         "            loss.backward()\n"
         "            opt_d.step()\n"
         "        loss = generator_loss(critic, G, torch.randn(128, 2, generator=g))\n"
         "        opt_g.zero_grad()\n"
         "        loss.backward()\n"
         "        opt_g.step()\n"),
    ], {}, []),
})


A2 = "a2_non_adversarial"

WRONG.update({
    # Part 1: the norm taken over the codes (dim=0) instead of over each code: columns of norm 1.
    "a2_sphere_columns": (A2, [("a2-project_to_sphere", "z.norm(dim=1, keepdim=True)", "z.norm(dim=0, keepdim=True)")],
                          {"a2-test_project_to_sphere": 0},
                          ["got every column scaled to norm 1"]),
    # Part 2: the codes are never put back on the sphere.
    "a2_glo_no_projection": (A2, [("a2-glo_step", "    with torch.no_grad():\n        codes[idx] = project_to_sphere(codes[idx])\n",
                                   "")],
                             {"a2-test_glo_step": 0},
                             ["back on the unit sphere"]),
    # Part 2: the old gradients are never cleared: the step follows the stale gradient too.
    "a2_glo_no_zero_grad": (A2, [("a2-glo_step", "    opt.zero_grad()\n", "")],
                            {"a2-test_glo_step": 0},
                            ["clear the old gradients"]),
    # Part 2: the optimiser steps before backward: the step has no gradient to follow, and the new gradient waits.
    "a2_glo_step_before_backward": (A2, [("a2-glo_step", "    loss.backward()\n    opt.step()\n",
                                          "    opt.step()\n    loss.backward()\n")],
                                    {"a2-test_glo_step": 0},
                                    ["found them unchanged"]),
    # Part 2: the loss called with the target first (loss_fn(x, G(z))): MSE does not mind, other losses do.
    "a2_glo_swapped_loss": (A2, [("a2-glo_step", "loss = loss_fn(G(z), x)", "loss = loss_fn(x, G(z))")],
                            {"a2-test_glo_step": 0},
                            ["the generator's output is the first argument"]),
    # Part 3: the diagonal terms k(x_i, x_i) = 1 kept in the within-sample sums.
    "a2_mmd_diagonal": (A2, [("a2-mmd2_imq", "return k.sum() - k.diagonal().sum() if same else k.sum()", "return k.sum()")],
                        {"a2-test_mmd2_imq": 0},
                        ["the diagonal terms k(x_i, x_i) = 1 were included"]),
    # Part 3: the biased V-statistic: diagonal included, divided by n^2 and m^2.
    "a2_mmd_biased": (A2, [("a2-mmd2_imq", "return k.sum() - k.diagonal().sum() if same else k.sum()", "return k.sum()"),
                           ("a2-mmd2_imq", "/ (n * (n - 1))", "/ (n * n)"), ("a2-mmd2_imq", "/ (m * (m - 1))", "/ (m * m)")],
                      {"a2-test_mmd2_imq": 0},
                      ["the biased estimate"]),
    # Part 3: C without the dimension.
    "a2_mmd_wrong_c": (A2, [("a2-mmd2_imq", "c = 2.0 * d * s", "c = 2.0 * s")],
                       {"a2-test_mmd2_imq": 0},
                       ["C = 2 s: the constant is C = 2 d s"]),
    # Part 4: each sample matched to its nearest data point (argmin over the data): mode-seeking.
    "a2_imle_reversed": (A2, [("a2-imle", "return torch.argmin(d2, dim=1).long()", "return torch.argmin(d2, dim=0).long()")],
                         {"a2-test_imle_match": 0},
                         ["expected one index per DATA point"]),
    # Part 4: the farthest sample instead of the nearest.
    "a2_imle_argmax": (A2, [("a2-imle", "return torch.argmin(d2, dim=1).long()", "return torch.argmax(d2, dim=1).long()")],
                       {"a2-test_imle_match": 0},
                       ["the FARTHEST sample"]),
    # Part 4: the squared distance averaged over the features instead of summed.
    "a2_imle_loss_feature_mean": (A2, [("a2-imle", "return diff.pow(2).sum(1).mean()", "return diff.pow(2).mean()")],
                                  {"a2-test_imle_loss": 0},
                                  ["sum the squared differences over the features"]),
    # Part 5: the mapper's codes handed to G without the projection.
    "a2_glann_no_projection": (A2, [("a2-glann_sample", "return G(project_to_sphere(mapper(e)))", "return G(mapper(e))")],
                               {"a2-test_glann_sample": 0},
                               ["got the mapper's output unprojected"]),
    # Part 5: the noise drawn from the global RNG, ignoring the generator it was given.
    "a2_glann_global_rng": (A2, [("a2-glann_sample", "e = torch.randn(n, noise_dim, generator=generator)",
                                  "e = torch.randn(n, noise_dim)")],
                            {"a2-test_glann_sample": 0},
                            ["draw it with the generator you are given"]),
    # Part 6: no matching at all: data points and samples paired at random, which pulls every sample to the mean.
    "a2_imle_random_pairing": (A2, [("a2-train_imle", "loss = imle_loss(x, G(z))", "loss = (x - G(z)).pow(2).sum(1).mean()")],
                               {"a2-test_train_imle": 0},
                               ["all 8 modes covered"]),
    # Part 6: the loop matches each sample to its nearest data point (mode-seeking): one or two modes.
    "a2_imle_loop_reversed": (A2, [("a2-train_imle", "loss = imle_loss(x, G(z))",
                                    "samples = G(z)\n        nearest = imle_match(samples, x)\n"
                                    "        loss = (samples - x[nearest]).pow(2).sum(1).mean()")],
                              {"a2-test_train_imle": 0},
                              ["as when each sample is matched to its nearest data point"]),
    # Every answer delegates to course_lib.non_adversarial: switched off while grading, so nothing is earned.
    "a2_uses_library": (A2, [
        ("a2-project_to_sphere", "    return z / z.norm(", "    return course_lib.non_adversarial.project_to_sphere(z)\n"
                                                          "    return z / z.norm("),
        ("a2-glo_step", "    z = codes[idx]\n", "    return course_lib.non_adversarial.glo_step(G, codes, x, idx, opt, loss_fn)\n"
                                              "    z = codes[idx]\n"),
        ("a2-mmd2_imq", "    n, m, d = x.shape[0]", "    return course_lib.non_adversarial.mmd2_imq(x, y, scales)\n"
                                                  "    n, m, d = x.shape[0]"),
        ("a2-imle", "    with torch.no_grad():\n        a = x.reshape(",
         "    return course_lib.non_adversarial.imle_match(x, samples)\n    with torch.no_grad():\n        a = x.reshape("),
        ("a2-imle", "    idx = imle_match(x, samples.detach())\n",
         "    return course_lib.non_adversarial.imle_loss(x, samples)\n    idx = imle_match(x, samples.detach())\n"),
        ("a2-glann_sample", "    with torch.no_grad():\n        e = torch.randn(",
         "    return course_lib.non_adversarial.glann_sample(mapper, G, n, noise_dim, generator)\n"
         "    with torch.no_grad():\n        e = torch.randn("),
        ("a2-train_imle", "loss = imle_loss(x, G(z))", "loss = course_lib.non_adversarial.imle_loss(x, G(z))"),
    ], {"a2-test_project_to_sphere": 0, "a2-test_glo_step": 0, "a2-test_mmd2_imq": 0, "a2-test_imle_match": 0,
        "a2-test_imle_loss": 0, "a2-test_glann_sample": 0, "a2-test_train_imle": 0},
        ["implement it yourself"]),
    # Not mistakes: correct answers written another way, which must earn full marks. F.normalize; the codes
    # re-projected in full through .data with zero_grad(set_to_none=False); the MMD with torch.cdist and the
    # diagonal masked out; the matching with torch.cdist and the expanded loss with gather; noise via .to(device).
    "a2_written_differently": (A2, [
        ("a2-project_to_sphere", "    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)",
         "    return F.normalize(z, p=2, dim=1, eps=1e-12)"),
        ("a2-glo_step",
         "    z = codes[idx]\n"
         "    loss = loss_fn(G(z), x)\n"
         "    opt.zero_grad()\n"
         "    loss.backward()\n"
         "    opt.step()\n"
         "    with torch.no_grad():\n"
         "        codes[idx] = project_to_sphere(codes[idx])\n"
         "    return loss.detach()",
         "    opt.zero_grad(set_to_none=False)\n"
         "    output = G(torch.index_select(codes, 0, idx))\n"
         "    loss = loss_fn(output, x)\n"
         "    loss.backward()\n"
         "    opt.step()\n"
         "    codes.data = project_to_sphere(codes.data)   # every row: the others are unit already\n"
         "    return loss.item() * torch.ones(())"),
        ("a2-mmd2_imq",
         "    n, m, d = x.shape[0], y.shape[0], x.shape[1]\n",
         "    n, m, d = x.shape[0], y.shape[0], x.shape[1]\n"
         "    if True:\n"
         "        total = 0.0\n"
         "        off_x = ~torch.eye(n, dtype=torch.bool)\n"
         "        off_y = ~torch.eye(m, dtype=torch.bool)\n"
         "        dxx, dyy, dxy = torch.cdist(x, x) ** 2, torch.cdist(y, y) ** 2, torch.cdist(x, y) ** 2\n"
         "        for s in scales:\n"
         "            C = 2 * d * s\n"
         "            total = total + (C / (C + dxx))[off_x].mean() + (C / (C + dyy))[off_y].mean() \\\n"
         "                - 2 * (C / (C + dxy)).mean()\n"
         "        return total\n"),
        ("a2-imle",
         "        d2 = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)\n"
         "        return torch.argmin(d2, dim=1).long()",
         "        d2 = torch.cdist(a, b)\n"
         "        return d2.min(dim=1).indices.to(torch.int64)"),
        ("a2-imle",
         "    idx = imle_match(x, samples.detach())\n"
         "    diff = x.reshape(len(x), -1) - samples.reshape(len(samples), -1)[idx]\n"
         "    return diff.pow(2).sum(1).mean()",
         "    flat = samples.flatten(1)\n"
         "    chosen = flat.index_select(0, imle_match(x, samples))\n"
         "    return ((x.flatten(1) - chosen) ** 2).sum(dim=1).mean()"),
        ("a2-glann_sample",
         "        params = list(mapper.parameters()) if hasattr(mapper, \"parameters\") else []\n"
         "        if params:\n"
         "            e = e.to(params[0].device)\n",
         "        try:\n"
         "            e = e.to(next(mapper.parameters()).device)\n"
         "        except (AttributeError, StopIteration):\n"
         "            pass\n"),
    ], {}, []),
    # Not mistakes either: plain Python loops for the projection and the matching, the MMD from kernel matrices with
    # the diagonal subtracted as n (k(x, x) = 1 for the IMQ kernel), and a training loop with its own names.
    "a2_loops": (A2, [
        ("a2-project_to_sphere", "    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)",
         "    rows = [row / torch.sqrt((row * row).sum()).clamp(min=1e-12) for row in z]\n"
         "    return torch.stack(rows)"),
        ("a2-mmd2_imq",
         "    n, m, d = x.shape[0], y.shape[0], x.shape[1]\n",
         "    n, m, d = x.shape[0], y.shape[0], x.shape[1]\n"
         "    out = 0\n"
         "    for s in scales:\n"
         "        C = 2.0 * d * s\n"
         "        sq = lambda a, b: (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :]\n"
         "        kxx = C / (C + sq(x, x).clamp_min(0))\n"
         "        kyy = C / (C + sq(y, y).clamp_min(0))\n"
         "        kxy = C / (C + sq(x, y).clamp_min(0))\n"
         "        out = out + (kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2 * kxy.mean()\n"
         "    return out\n"),
        ("a2-imle",
         "    with torch.no_grad():\n"
         "        a = x.reshape(len(x), -1).double()\n"
         "        b = samples.reshape(len(samples), -1).to(x.device).double()\n"
         "        d2 = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)\n"
         "        return torch.argmin(d2, dim=1).long()",
         "    a = x.detach().reshape(len(x), -1).tolist()\n"
         "    b = samples.detach().reshape(len(samples), -1).tolist()\n"
         "    best = []\n"
         "    for p in a:\n"
         "        dists = [sum((u - v) ** 2 for u, v in zip(p, q)) for q in b]\n"
         "        best.append(dists.index(min(dists)))\n"
         "    return torch.tensor(best, dtype=torch.long, device=x.device)"),
        ("a2-train_imle",
         "    for _ in range(1000):\n"
         "        x = toy.eight_gaussians(64, std=0.05, generator=g)\n"
         "        z = torch.randn(64, 2, generator=g)\n"
         "        loss = imle_loss(x, G(z))\n"
         "        opt.zero_grad()\n"
         "        loss.backward()\n"
         "        opt.step()\n",
         "    step = 0\n"
         "    while step < 1000:\n"
         "        batch = toy.eight_gaussians(64, std=0.05, generator=g)\n"
         "        fakes = G(torch.randn(64, 2, generator=g))\n"
         "        opt.zero_grad()\n"
         "        imle_loss(batch, fakes).backward()\n"
         "        opt.step()\n"
         "        step += 1\n"),
    ], {}, []),
})


A6 = "a6_image_translation"

_A6_CHECK = ("    if labels.numel() and (labels.min() < 0 or labels.max() >= n_classes):\n"
             "        raise ValueError(f\"labels must lie in 0..{n_classes - 1}, got {labels.min().item()}..{labels.max().item()}\")\n")
_A6_POOL_SWAP = ("            elif torch.rand(1, generator=self.generator).item() > 0.5:\n"
                 "                i = torch.randint(0, self.size, (1,), generator=self.generator).item()\n"
                 "                out.append(self.images[i].clone())\n"
                 "                self.images[i] = image.clone()\n"
                 "            else:\n"
                 "                out.append(image.clone())\n")

WRONG.update({
    # The label maps put before the image channels: D's first layer reads the label where it expects the image.
    "a6_cgan_maps_first": (A6, [("a6-cgan_inputs", "return torch.cat([x, maps.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)",
                                 "return torch.cat([maps.expand(-1, -1, x.shape[2], x.shape[3]), x], dim=1)")],
                           {"a6-test_cgan_inputs": 0},
                           ["got the label maps first"]),
    # No range check: F.one_hot raises a RuntimeError for some out-of-range labels, not the ValueError asked for.
    "a6_cgan_no_range_check": (A6, [("a6-cgan_inputs", _A6_CHECK, "")],
                               {"a6-test_cgan_inputs": 0},
                               ["expected a ValueError"]),
    # The range check off by one: the label n_classes gets through, and F.one_hot raises a RuntimeError for it.
    "a6_cgan_off_by_one": (A6, [("a6-cgan_inputs", "labels.max() >= n_classes", "labels.max() > n_classes")],
                           {"a6-test_cgan_inputs": 0},
                           ["expected a ValueError for the labels [0, 3, 1]"]),
    # The skip concatenated first: the channel counts still fit, so the network runs, wired wrongly.
    "a6_unet_skip_first": (A6, [("a6-skip_unet", "torch.cat([h, skip], dim=1)", "torch.cat([skip, h], dim=1)")],
                           {"a6-test_skip_unet": 0},
                           ["received [skip, upsampled features]"]),
    # Upsampling by a factor 2: right for 32x32, wrong where the encoder rounded up (28 -> 14 -> 7 -> 4).
    "a6_unet_scale_factor": (A6, [("a6-skip_unet", "F.interpolate(h, size=skip.shape[-2:], mode=\"nearest\")",
                                   "F.interpolate(h, scale_factor=2, mode=\"nearest\")")],
                             {"a6-test_skip_unet": 0},
                             ["upsample h to the skip's own size"]),
    # The skips saved before their ReLU.
    "a6_unet_skip_before_relu": (A6, [("a6-skip_unet",
                                       "        h = F.relu(self.stem(x))\n        skips = []\n        for conv in self.down:\n"
                                       "            skips.append(h)\n            h = F.relu(conv(h))\n",
                                       "        pre = self.stem(x)\n        h = F.relu(pre)\n        skips = []\n"
                                       "        for conv in self.down:\n            skips.append(pre)\n            pre = conv(h)\n"
                                       "            h = F.relu(pre)\n")],
                                 {"a6-test_skip_unet": 0},
                                 ["before its ReLU"]),
    # The output size without the padding.
    "a6_patch_no_padding": (A6, [("a6-patchgan", "out = (size + 2 * p - k) // s + 1", "out = (size - k) // s + 1")],
                            {"a6-test_patchgan_output_size": 0},
                            ["the padding is missing"]),
    # The output size rounded up.
    "a6_patch_ceil": (A6, [("a6-patchgan", "out = (size + 2 * p - k) // s + 1", "out = -((size + 2 * p - k) // -s) + 1")],
                      {"a6-test_patchgan_output_size": 0},
                      ["that rounds up"]),
    # The receptive field built forwards with each layer's own stride already in the jump: 91 for the 70x70 PatchGAN.
    "a6_field_own_stride": (A6, [("a6-patchgan", "    r = 1\n    for k, s, _ in reversed(layers):\n        r = (r - 1) * s + k\n",
                                  "    r, jump = 1, 1\n    for k, s, _ in layers:\n        jump *= s\n        r += (k - 1) * jump\n")],
                            {"a6-test_receptive_field": 0},
                            ["INCLUDING its own"]),
    # pix2pix's discriminator conditioned on the target instead of the input.
    "a6_pix2pix_target_condition": (A6, [("a6-pix2pix_generator_loss", "logits = D(x, fake)", "logits = D(y, fake)")],
                                    {"a6-test_pix2pix_generator_loss": 0},
                                    ["D was given the target y"]),
    # The fake detached before D: the adversarial term no longer trains G.
    "a6_pix2pix_detached": (A6, [("a6-pix2pix_generator_loss", "logits = D(x, fake)", "logits = D(x, fake.detach())")],
                            {"a6-test_pix2pix_generator_loss": 0},
                            ["sends no gradient to G"]),
    # L2 instead of L1.
    "a6_pix2pix_l2": (A6, [("a6-pix2pix_generator_loss", "lam * (fake - y).abs().mean()", "lam * ((fake - y) ** 2).mean()")],
                      {"a6-test_pix2pix_generator_loss": 0},
                      ["squared (L2)"]),
    # The paper's "0.5 lambda" read as 0.5.
    "a6_cycle_identity_weight": (A6, [("a6-cyclegan_generator_loss", "lam_identity * lam_cycle * identity",
                                       "lam_identity * identity")],
                                 {"a6-test_cyclegan_generator_loss": 0},
                                 ["the identity weight is lam_identity alone"]),
    # Each fake judged by the other domain's discriminator.
    "a6_cycle_swapped_discriminators": (A6, [("a6-cyclegan_generator_loss",
                                              "((D_b(fake_b) - 1) ** 2).mean() + ((D_a(fake_a) - 1) ** 2).mean()",
                                              "((D_a(fake_b) - 1) ** 2).mean() + ((D_b(fake_a) - 1) ** 2).mean()")],
                                        {"a6-test_cyclegan_generator_loss": 0},
                                        ["the discriminators are swapped"]),
    # The cycles composed the wrong way round.
    "a6_cycle_wrong_way": (A6, [("a6-cyclegan_generator_loss",
                                 "cycle = (G_ba(fake_b) - a).abs().mean() + (G_ab(fake_a) - b).abs().mean()",
                                 "cycle = (G_ab(G_ba(a)) - a).abs().mean() + (G_ba(G_ab(b)) - b).abs().mean()")],
                           {"a6-test_cyclegan_generator_loss": 0},
                           ["the cycles go the wrong way round"]),
    # The index drawn before the coin: a reasonable pool, but not the one specified: only the replay fails.
    "a6_pool_randint_first": (A6, [("a6-image_pool", _A6_POOL_SWAP,
                                    "            else:\n"
                                    "                i = torch.randint(0, self.size, (1,), generator=self.generator).item()\n"
                                    "                if torch.rand(1, generator=self.generator).item() > 0.5:\n"
                                    "                    out.append(self.images[i].clone())\n"
                                    "                    self.images[i] = image.clone()\n"
                                    "                else:\n"
                                    "                    out.append(image.clone())\n")],
                              {"a6-test_image_pool_replay": 0},
                              ["the index i is drawn before p"]),
    # Not detached: the discriminator's loss would reach the generator through the pool. The draws are right.
    "a6_pool_not_detached": (A6, [("a6-image_pool", "for image in images.detach():", "for image in images:")],
                             {"a6-test_image_pool_properties": 0},
                             ["expected a detached result"]),
    # Views of the batch stored instead of clones: the pool changes when the caller reuses the batch.
    "a6_pool_views": (A6, [("a6-image_pool", "self.images.append(image.clone())", "self.images.append(image)"),
                           ("a6-image_pool", "self.images[i] = image.clone()", "self.images[i] = image")],
                      {"a6-test_image_pool_properties": 0},
                      ["store clones"]),
    # CycleGAN without its cycle (lam_cycle = 0 also removes the identity term): nothing ties a translation to its input.
    "a6_cyclegan_no_cycle": (A6, [("a6-train_cyclegan", "return cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b)",
                                   "return cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b, lam_cycle=0.0)")],
                             {"a6-test_train_cyclegan": 0},
                             ["the colour does not follow the digit"]),
    # Trains as asked, then returns the CycleGAN the course ships for lecture 7 (same architecture): its digits pass
    # the bands, so only the weights give it away.
    "a6_cyclegan_loads_shipped": (A6, [("a6-train_cyclegan", "    return G_ab, G_ba\n",
                                        "    from course_lib.pretrained import load_pretrained\n"
                                        "    shipped = load_pretrained(\"cyclegan\")\n"
                                        "    return shipped.a2b, shipped.b2a\n")],
                                  {"a6-test_train_cyclegan": 0},
                                  ["the course ships for lecture 7"]),
    # The generators passed the wrong way round: G_ab learns B -> A and G_ba learns A -> B.
    "a6_cyclegan_swapped": (A6, [("a6-train_cyclegan", "return cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b)",
                                  "return cyclegan_generator_loss(G_ba, G_ab, D_a, D_b, a, b)")],
                            {"a6-test_train_cyclegan": 0},
                            ["G_ba does not take B to A"]),
    # Every answer delegates to course_lib.translation: switched off while grading, so nothing is earned.
    "a6_uses_library": (A6, [
        ("a6-cgan_inputs", "    return torch.cat([z, F.one_hot(",
         "    return course_lib.translation.cgan_generator_input(z, labels, n_classes)\n    return torch.cat([z, F.one_hot("),
        ("a6-cgan_inputs", "    maps = F.one_hot(",
         "    return course_lib.translation.cgan_discriminator_input(x, labels, n_classes)\n    maps = F.one_hot("),
        ("a6-skip_unet", "        h = F.relu(self.stem(x))\n",
         "        return course_lib.translation.SkipUNet.forward(self, x)\n        h = F.relu(self.stem(x))\n"),
        ("a6-patchgan", "    for i, (k, s, p) in enumerate(layers):",
         "    return course_lib.translation.patchgan_output_size(size, layers)\n    for i, (k, s, p) in enumerate(layers):"),
        ("a6-patchgan", "    r = 1\n", "    return course_lib.translation.receptive_field(layers)\n    r = 1\n"),
        ("a6-pix2pix_generator_loss", "    fake = G(x)\n",
         "    return course_lib.translation.pix2pix_generator_loss(D, G, x, y, lam)\n    fake = G(x)\n"),
        ("a6-cyclegan_generator_loss", "    fake_b, fake_a = G_ab(a), G_ba(b)\n",
         "    return course_lib.translation.cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b, lam_cycle, lam_identity)\n"
         "    fake_b, fake_a = G_ab(a), G_ba(b)\n"),
        ("a6-image_pool", "        self.size, self.generator, self.images = size, generator, []",
         "        self.pool = course_lib.translation.ImagePool(size, generator)"),
        ("a6-image_pool", "        if self.size == 0:\n", "        return self.pool.query(images)\n        if self.size == 0:\n"),
        ("a6-train_cyclegan", "return cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b)",
         "return course_lib.translation.cyclegan_generator_loss(G_ab, G_ba, D_a, D_b, a, b)"),
    ], {"a6-test_cgan_inputs": 0, "a6-test_skip_unet": 0, "a6-test_patchgan_output_size": 0, "a6-test_receptive_field": 0,
        "a6-test_pix2pix_generator_loss": 0, "a6-test_cyclegan_generator_loss": 0, "a6-test_image_pool_properties": 0,
        "a6-test_image_pool_replay": 0, "a6-test_train_cyclegan": 0},
        ["implement it yourself"]),
    # Not mistakes: correct answers written another way, which must earn full marks. One-hot by indexing an identity
    # matrix and scatter_, the range checked with a mask; the U-Net with indices, torch.relu and interpolate's default
    # mode; the geometry with math.floor and the forward jump formula; the losses with F.l1_loss / F.mse_loss; the
    # pool iterating over indices; the recipe with F.mse_loss and lists of parameters.
    "a6_written_differently": (A6, [
        ("a6-cgan_inputs",
         _A6_CHECK + "    return torch.cat([z, F.one_hot(labels.long(), n_classes).to(z.dtype)], dim=1)\n",
         "    if not bool(((labels >= 0) & (labels < n_classes)).all()):\n"
         "        raise ValueError(\"every label must be one of 0 .. n_classes - 1\")\n"
         "    onehot = torch.zeros(len(labels), n_classes, dtype=z.dtype, device=z.device)\n"
         "    onehot.scatter_(1, labels.reshape(-1, 1).long(), 1.0)\n"
         "    return torch.cat((z, onehot), 1)\n"),
        ("a6-cgan_inputs",
         _A6_CHECK + "    maps = F.one_hot(labels.long(), n_classes).to(x.dtype)[:, :, None, None]\n"
         "    return torch.cat([x, maps.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)\n",
         "    if not bool(((labels >= 0) & (labels < n_classes)).all()):\n"
         "        raise ValueError(\"every label must be one of 0 .. n_classes - 1\")\n"
         "    maps = torch.eye(n_classes, dtype=x.dtype)[labels.long()].reshape(len(x), n_classes, 1, 1)\n"
         "    return torch.cat((x, maps.repeat(1, 1, x.shape[2], x.shape[3])), 1)\n"),
        ("a6-skip_unet",
         "        h = F.relu(self.stem(x))\n        skips = []\n        for conv in self.down:\n"
         "            skips.append(h)\n            h = F.relu(conv(h))\n"
         "        for conv, skip in zip(self.up, reversed(skips)):\n"
         "            h = F.interpolate(h, size=skip.shape[-2:], mode=\"nearest\")\n"
         "            h = F.relu(conv(torch.cat([h, skip], dim=1)))\n",
         "        features = [torch.relu(self.stem(x))]\n"
         "        for i in range(self.depth):\n"
         "            features.append(torch.relu(self.down[i](features[-1])))\n"
         "        h = features[-1]\n"
         "        for i in range(self.depth):\n"
         "            skip = features[self.depth - 1 - i]\n"
         "            h = nn.functional.interpolate(h, size=(skip.shape[2], skip.shape[3]))\n"
         "            h = torch.relu(self.up[i](torch.cat((h, skip), 1)))\n"),
        ("a6-patchgan",
         "    for i, (k, s, p) in enumerate(layers):\n        out = (size + 2 * p - k) // s + 1\n",
         "    for i, (k, s, p) in enumerate(layers):\n        out = math.floor((size + 2 * p - k) / s) + 1\n"),
        ("a6-patchgan", "    r = 1\n    for k, s, _ in reversed(layers):\n        r = (r - 1) * s + k\n",
         "    r, jump = 1, 1\n    for k, s, _ in layers:\n        r += (k - 1) * jump\n        jump *= s\n"),
        ("a6-pix2pix_generator_loss",
         "    adversarial = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))\n"
         "    return adversarial + lam * (fake - y).abs().mean()",
         "    return -F.logsigmoid(logits).mean() + lam * F.l1_loss(fake, y)"),
        ("a6-cyclegan_generator_loss",
         "    adversarial = ((D_b(fake_b) - 1) ** 2).mean() + ((D_a(fake_a) - 1) ** 2).mean()\n"
         "    cycle = (G_ba(fake_b) - a).abs().mean() + (G_ab(fake_a) - b).abs().mean()\n"
         "    identity = (G_ab(b) - b).abs().mean() + (G_ba(a) - a).abs().mean()\n"
         "    return adversarial + lam_cycle * cycle + lam_identity * lam_cycle * identity",
         "    score_b, score_a = D_b(fake_b), D_a(fake_a)\n"
         "    total = F.mse_loss(score_b, torch.ones_like(score_b)) + F.mse_loss(score_a, torch.ones_like(score_a))\n"
         "    total = total + lam_cycle * (F.l1_loss(G_ba(fake_b), a) + F.l1_loss(G_ab(fake_a), b))\n"
         "    w_identity = lam_cycle * lam_identity\n"
         "    return total + w_identity * F.l1_loss(G_ab(b), b) + w_identity * F.l1_loss(G_ba(a), a)"),
        ("a6-image_pool",
         "        for image in images.detach():\n"
         "            if len(self.images) < self.size:\n"
         "                self.images.append(image.clone())\n"
         "                out.append(image.clone())\n" + _A6_POOL_SWAP + "        return torch.stack(out, 0)",
         "        for j in range(images.shape[0]):\n"
         "            new = images[j].detach().clone()\n"
         "            if len(self.images) < self.size:\n"
         "                self.images.append(new)\n"
         "                out.append(new.clone())\n"
         "                continue\n"
         "            if torch.rand(1, generator=self.generator).item() <= 0.5:\n"
         "                out.append(new)\n"
         "                continue\n"
         "            slot = int(torch.randint(0, self.size, (1,), generator=self.generator))\n"
         "            old, self.images[slot] = self.images[slot], new\n"
         "            out.append(old)\n"
         "        return torch.stack(out, dim=0)"),
        ("a6-train_cyclegan",
         "        loss_b = 0.5 * (((D_b(b) - 1) ** 2).mean() + (D_b(fake_b) ** 2).mean())\n"
         "        loss_a = 0.5 * (((D_a(a) - 1) ** 2).mean() + (D_a(fake_a) ** 2).mean())\n"
         "        return loss_a + loss_b",
         "        total = 0.0\n"
         "        for D, real, fake in ((D_a, a, fake_a), (D_b, b, fake_b)):\n"
         "            s_real, s_fake = D(real), D(fake)\n"
         "            total = total + 0.5 * (F.mse_loss(s_real, torch.ones_like(s_real)) + F.mse_loss(s_fake, torch.zeros_like(s_fake)))\n"
         "        return total"),
        ("a6-train_cyclegan", "itertools.chain(G_ab.parameters(), G_ba.parameters())",
         "list(G_ab.parameters()) + list(G_ba.parameters())"),
    ], {}, []),
    # Not mistakes either: another correct way. The one-hot by type_as and a multiplication with ones; the U-Net's
    # upsampling by repeat_interleave and a crop (nearest resizing); the geometry recursively; the pool on a list of
    # unbound images.
    "a6_functional": (A6, [
        ("a6-cgan_inputs", "return torch.cat([z, F.one_hot(labels.long(), n_classes).to(z.dtype)], dim=1)",
         "return torch.cat([z, F.one_hot(labels.long(), n_classes).type_as(z)], dim=-1)"),
        ("a6-cgan_inputs",
         "    maps = F.one_hot(labels.long(), n_classes).to(x.dtype)[:, :, None, None]\n"
         "    return torch.cat([x, maps.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)\n",
         "    n, _, h, w = x.shape\n"
         "    maps = F.one_hot(labels.long(), n_classes).type_as(x).view(n, n_classes, 1, 1) * torch.ones(1, 1, h, w, dtype=x.dtype)\n"
         "    return torch.cat([x, maps], dim=1)\n"),
        ("a6-skip_unet", "            h = F.interpolate(h, size=skip.shape[-2:], mode=\"nearest\")\n",
         "            h = h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)[:, :, :skip.shape[2], :skip.shape[3]]\n"),
        ("a6-patchgan",
         "    for i, (k, s, p) in enumerate(layers):\n"
         "        out = (size + 2 * p - k) // s + 1\n"
         "        if out < 1:\n",
         "    if not layers:\n"
         "        return size\n"
         "    for i, (k, s, p) in enumerate(layers[:1]):\n"
         "        out = (size + 2 * p - k) // s + 1\n"
         "        if out < 1:\n"),
        ("a6-patchgan", "        size = out\n    return size\n",
         "    try:\n"
         "        return patchgan_output_size(out, layers[1:])\n"
         "    except ValueError as exc:\n"
         "        raise ValueError(f\"after layer 0: {exc}\") from None\n"),
        ("a6-patchgan", "    r = 1\n    for k, s, _ in reversed(layers):\n        r = (r - 1) * s + k\n    return r\n",
         "    if not layers:\n        return 1\n    k, s, _ = layers[0]\n    return (receptive_field(layers[1:]) - 1) * s + k\n"),
        ("a6-image_pool", "        for image in images.detach():\n", "        for image in images.detach().clone().unbind(0):\n"),
    ], {}, []),
})


A7 = "a7_lapgan"

WRONG.update({
    # Zero padding: the border darkens, and a constant image no longer stays constant.
    "a7_zero_padding": (A7, [("a7-resample", "F.pad(x, (2, 2, 2, 2), mode=\"reflect\")", "F.pad(x, (2, 2, 2, 2))")],
                        {"a7-test_resample": 0},
                        ["zero padding"]),
    # A 2x2 box blur (average pooling) instead of the binomial kernel.
    "a7_box_blur": (A7, [("a7-resample",
                          "    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode=\"reflect\"), kernel, groups=c)[..., ::2, ::2]",
                          "    return F.avg_pool2d(x, 2)")],
                    {"a7-test_resample": 0},
                    ["the 5x5 binomial kernel"]),
    # A full convolution over the channels (the kernel averaged over them): right for one channel only.
    "a7_mixing_channels": (A7, [("a7-resample",
                                 "    kernel = torch.outer(b1, b1).repeat(c, 1, 1, 1)\n"
                                 "    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode=\"reflect\"), kernel, groups=c)[..., ::2, ::2]",
                                 "    kernel = torch.outer(b1, b1).repeat(c, c, 1, 1) / c\n"
                                 "    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode=\"reflect\"), kernel)[..., ::2, ::2]")],
                           {"a7-test_resample": 0},
                           ["each channel on its own"]),
    # Nearest-neighbour upsampling.
    "a7_nearest_upsample": (A7, [("a7-resample", "scale_factor=2, mode=\"bilinear\", align_corners=False)",
                                  "scale_factor=2, mode=\"nearest\")")],
                            {"a7-test_resample": 0},
                            ["nearest-neighbour"]),
    # align_corners=True: the corners pinned, every other pixel shifted.
    "a7_align_corners": (A7, [("a7-resample", "mode=\"bilinear\", align_corners=False)", "mode=\"bilinear\", align_corners=True)")],
                         {"a7-test_resample": 0},
                         ["align_corners=True"]),
    # The pyramid listed coarse to fine.
    "a7_pyramid_coarse_first": (A7, [("a7-pyramid", "    return pyramid + [image]", "    return [image] + pyramid[::-1]")],
                                {"a7-test_pyramid": 0},
                                ["got it coarse to fine"]),
    # The residual taken the other way round.
    "a7_residual_sign": (A7, [("a7-pyramid", "pyramid.append(image - upsample(smaller))", "pyramid.append(upsample(smaller) - image)"),
                              ("a7-pyramid", "        image = upsample(image) + h", "        image = upsample(image) - h")],
                         {"a7-test_pyramid": 0},
                         ["has the wrong sign"]),
    # The residual against the next level's Gaussian image taken before the blur of this one: h_k = I_k - upsample(I_k[::2, ::2]).
    "a7_residual_unblurred": (A7, [("a7-pyramid", "pyramid.append(image - upsample(smaller))",
                                    "pyramid.append(image - upsample(image[..., ::2, ::2]))")],
                              {"a7-test_pyramid": 0},
                              ["Expected h_0 = I_0 - upsample(I_1)"]),
    # reconstruct adds the details from the finest first.
    "a7_reconstruct_order": (A7, [("a7-pyramid", "    for h in reversed(pyramid[:-1]):", "    for h in pyramid[:-1]:")],
                             {"a7-test_pyramid": 0},
                             []),
    # The noise plane put first.
    "a7_z_first": (A7, [("a7-level_inputs", "return torch.cat([l, z], dim=1)", "return torch.cat([z, l], dim=1)")],
                   {"a7-test_level_inputs": 0},
                   ["got [z, l]"]),
    # D sees the residual, not the image it makes.
    "a7_d_input_h_l": (A7, [("a7-level_inputs", "return torch.cat([l + h, l], dim=1)", "return torch.cat([h, l], dim=1)")],
                       {"a7-test_level_inputs": 0},
                       ["got [h, l]"]),
    # The residual detached: G would get no gradient through D's input.
    "a7_d_input_detached": (A7, [("a7-level_inputs", "return torch.cat([l + h, l], dim=1)",
                                  "return torch.cat([l + h.detach(), l], dim=1)")],
                            {"a7-test_level_inputs": 0},
                            ["do not detach h"]),
    # The noise planes from torch's global random numbers.
    "a7_noise_global_rng": (A7, [("a7-sample_coarse_to_fine", "torch.randn(n, 1, l.shape[-2], l.shape[-1], generator=generator)",
                                  "torch.randn(n, 1, l.shape[-2], l.shape[-1])")],
                            {"a7-test_sample_coarse_to_fine": 0},
                            ["noise plane"]),
    # The coarse model left on torch's global random numbers: the samples cannot be replayed from the generator.
    "a7_coarse_without_generator": (A7, [("a7-sample_coarse_to_fine", "    image = coarse.sample(n, generator=generator)\n",
                                          "    image = coarse.sample(n)\n")],
                                     {"a7-test_sample_coarse_to_fine": 0},
                                     ["Expected coarse.sample(n, generator=generator)"]),
    # The residual taken for the image: the upsampled image is not added back.
    "a7_sampler_no_residual": (A7, [("a7-sample_coarse_to_fine", "        image = l + G(generator_input(l, z))",
                                     "        image = G(generator_input(l, z))")],
                               {"a7-test_sample_coarse_to_fine": 0},
                               ["the residual added to the upsampled image"]),
    # The generators applied fine to coarse.
    "a7_sampler_reversed": (A7, [("a7-sample_coarse_to_fine", "    for G in generators:", "    for G in reversed(list(generators)):")],
                            {"a7-test_sample_coarse_to_fine": 0},
                            []),
    # Part 5: the residual's sign flipped in training: the level learns to take detail away.
    "a7_train_residual_sign": (A7, [("a7-train_level", "        h = I - l\n", "        h = l - I\n")],
                               {"a7-test_train_level": 0},
                               ["FID(l + drawn) / FID(l) below"]),
    # Part 5: a learning rate ten times too small: after the fixed budget the level has barely started.
    "a7_train_lr_small": (A7, [("a7-train_level", "lr=2e-4", "lr=2e-5")],
                          {"a7-test_train_level": 0},
                          ["FID(l + drawn) / FID(l) below"]),
})

WRONG.update({
    # Every part handed to the course's module (or to nets.LAPGAN): each test switches them off.
    "a7_uses_library": (A7, [
        ("a7-resample", "    b, c, h, w = x.shape\n", "    return course_lib.lapgan.downsample(x)\n    b, c, h, w = x.shape\n"),
        ("a7-resample", "    return F.interpolate(x, scale_factor=2", "    return course_lib.lapgan.upsample(x)\n    return F.interpolate(x, scale_factor=2"),
        ("a7-pyramid", "    if levels < 1:\n", "    return course_lib.lapgan.laplacian_pyramid(x, levels)\n    if levels < 1:\n"),
        ("a7-pyramid", "    image = pyramid[-1]\n", "    return course_lib.lapgan.reconstruct(pyramid)\n    image = pyramid[-1]\n"),
        ("a7-level_inputs", "    if z.shape[1] != 1", "    return course_lib.lapgan.generator_input(l, z)\n    if z.shape[1] != 1"),
        ("a7-level_inputs", "    if h.shape != l.shape:", "    return course_lib.lapgan.discriminator_input(h, l)\n    if h.shape != l.shape:"),
        ("a7-sample_coarse_to_fine", "    image = coarse.sample(n, generator=generator)\n",
         "    if all(isinstance(G, course_lib.nets.LevelGenerator) for G in generators):\n"
         "        return course_lib.nets.LAPGAN(coarse, list(generators)).sample(n, generator, levels=True)\n"
         "    return course_lib.lapgan.sample_coarse_to_fine(coarse, generators, n, generator)\n"
         "    image = coarse.sample(n, generator=generator)\n"),
        ("a7-train_level", "        logits = D(discriminator_input(generated(l), l))",
         "        logits = D(course_lib.lapgan.discriminator_input(generated(l), l))"),
    ], {"a7-test_resample": 0, "a7-test_pyramid": 0, "a7-test_level_inputs": 0, "a7-test_sample_coarse_to_fine": 0,
        "a7-test_train_level": 0},
        ["implement it yourself"]),
    # Not mistakes: correct answers written another way, which must earn full marks. The blur as two 1-D passes with
    # the channels reshaped into the batch; upsample by size; the pyramid and its inverse recursively; torch.concat;
    # the sampler with a with-block and the noise cast with .to(l); Part 5 through laplacian_pyramid(I, 2).
    "a7_written_differently": (A7, [
        ("a7-resample",
         "    b, c, h, w = x.shape\n"
         "    if h % 2 or w % 2 or h < 4 or w < 4:\n",
         "    b, c, h, w = x.shape\n"
         "    if min(h, w) < 4 or h % 2 == 1 or w % 2 == 1:\n"),
        ("a7-resample",
         "    b1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16\n"
         "    kernel = torch.outer(b1, b1).repeat(c, 1, 1, 1)\n"
         "    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode=\"reflect\"), kernel, groups=c)[..., ::2, ::2]",
         "    k = torch.tensor([1, 4, 6, 4, 1], dtype=x.dtype, device=x.device) / 16\n"
         "    y = F.pad(x.reshape(b * c, 1, h, w), (2, 2, 2, 2), mode=\"reflect\")\n"
         "    y = F.conv2d(F.conv2d(y, k.view(1, 1, 1, 5)), k.view(1, 1, 5, 1))\n"
         "    return y[:, :, ::2, ::2].reshape(b, c, h // 2, w // 2)"),
        ("a7-resample", "    return F.interpolate(x, scale_factor=2, mode=\"bilinear\", align_corners=False)",
         "    return F.interpolate(x, size=(2 * x.shape[2], 2 * x.shape[3]), mode=\"bilinear\", align_corners=False)"),
        ("a7-pyramid",
         "    pyramid, image = [], x\n"
         "    for _ in range(levels - 1):\n"
         "        smaller = downsample(image)\n"
         "        pyramid.append(image - upsample(smaller))\n"
         "        image = smaller\n"
         "    return pyramid + [image]\n",
         "    if levels == 1:\n"
         "        return [x]\n"
         "    smaller = downsample(x)\n"
         "    return [x - upsample(smaller)] + laplacian_pyramid(smaller, levels - 1)\n"),
        ("a7-pyramid",
         "    image = pyramid[-1]\n"
         "    for h in reversed(pyramid[:-1]):\n"
         "        image = upsample(image) + h\n"
         "    return image\n",
         "    if len(pyramid) == 1:\n"
         "        return pyramid[0]\n"
         "    return pyramid[0] + upsample(reconstruct(pyramid[1:]))\n"),
        ("a7-level_inputs", "    return torch.cat([l, z], dim=1)", "    return torch.concat((l, z), 1)"),
        ("a7-level_inputs", "    return torch.cat([l + h, l], dim=1)", "    return torch.concat([h + l, l], dim=-3)"),
        ("a7-sample_coarse_to_fine",
         "@torch.no_grad()\ndef sample_coarse_to_fine(coarse, generators, n, generator=None):",
         "def sample_coarse_to_fine(coarse, generators, n, generator=None):"),
        ("a7-sample_coarse_to_fine",
         "    image = coarse.sample(n, generator=generator)\n"
         "    images = [image]\n"
         "    for G in generators:\n"
         "        l = upsample(image)\n"
         "        z = torch.randn(n, 1, l.shape[-2], l.shape[-1], generator=generator).to(l.device)\n"
         "        image = l + G(generator_input(l, z))\n"
         "        images.append(image)\n"
         "    return images\n",
         "    with torch.no_grad():\n"
         "        images = [coarse.sample(n, generator)]\n"
         "        for level in generators:\n"
         "            low = upsample(images[-1])\n"
         "            noise = torch.randn((n, 1) + tuple(low.shape[2:]), generator=generator)\n"
         "            images.append(low + level(generator_input(low, noise.to(low))))\n"
         "    return images\n"),
        ("a7-train_level", "    def d_loss(I):\n        l = upsample(downsample(I))\n        h = I - l\n",
         "    def d_loss(I):\n        h, small = laplacian_pyramid(I, 2)\n        l = upsample(small)\n"),
    ], {}, []),
    # Not mistakes either: the blur by unfold (patches times the kernel), the pyramid with a while loop, the inverse
    # by functools.reduce, the sampler drawing the noise with torch.normal.
    "a7_unfold": (A7, [
        ("a7-resample",
         "    b1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16\n"
         "    kernel = torch.outer(b1, b1).repeat(c, 1, 1, 1)\n"
         "    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode=\"reflect\"), kernel, groups=c)[..., ::2, ::2]",
         "    b1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16\n"
         "    padded = F.pad(x, (2, 2, 2, 2), mode=\"reflect\").reshape(b * c, 1, h + 4, w + 4)\n"
         "    patches = F.unfold(padded, 5, stride=2)\n"
         "    out = (patches * (b1[:, None] * b1[None, :]).reshape(1, 25, 1)).sum(1)\n"
         "    return out.reshape(b, c, h // 2, w // 2)"),
        ("a7-pyramid",
         "    pyramid, image = [], x\n"
         "    for _ in range(levels - 1):\n"
         "        smaller = downsample(image)\n"
         "        pyramid.append(image - upsample(smaller))\n"
         "        image = smaller\n"
         "    return pyramid + [image]\n",
         "    gauss = [x]\n"
         "    while len(gauss) < levels:\n"
         "        gauss.append(downsample(gauss[-1]))\n"
         "    return [fine - upsample(coarse) for fine, coarse in zip(gauss, gauss[1:])] + gauss[-1:]\n"),
        ("a7-pyramid",
         "    image = pyramid[-1]\n"
         "    for h in reversed(pyramid[:-1]):\n"
         "        image = upsample(image) + h\n"
         "    return image\n",
         "    import functools\n"
         "    return functools.reduce(lambda image, h: upsample(image) + h, pyramid[-2::-1], pyramid[-1])\n"),
        ("a7-sample_coarse_to_fine",
         "        z = torch.randn(n, 1, l.shape[-2], l.shape[-1], generator=generator).to(l.device)\n",
         "        z = torch.normal(0.0, 1.0, size=(n, 1, l.shape[-2], l.shape[-1]), generator=generator).to(l.device)\n"),
    ], {}, []),
})

# Hostile submissions: they attack the grader instead of answering. Those the tampering scan
# (tools/scan_submissions.py) flags have their grade withheld (expected scores "withheld", and the phrases are in
# the review report); the others are graded, in a sandbox (tools/sandboxed_kernel.py), and must gain nothing. The
# graded ones are checked only where a sandbox exists; test_nbgrader skips them, loudly, elsewhere.
WITHHELD = "withheld"

HOSTILE = {
    # Read the instructor's solution notebook from the course folder and run its answer.
    "reads_solutions": (A1, [("gaussian_kl", "    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)",
                              "    import json, pathlib\n"
                              "    nb = json.loads(pathlib.Path(\"../../../solutions/a1_vae/a1_vae.ipynb\").read_text())\n"
                              "    src = next(\"\".join(c[\"source\"]) for c in nb[\"cells\"] if c.get(\"id\") == \"gaussian_kl\")\n"
                              "    found = {}\n"
                              "    exec(src, globals(), found)\n"
                              "    return found[\"gaussian_kl\"](mu, logvar)")],
                        WITHHELD,
                        ["a path to the instructor's files", "uses exec"]),
    # Make the kernel swallow every error, so that a failing test cell looks like a passing one.
    "hides_errors": (A1, [("reparameterize", "    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)",
                           "    get_ipython().set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: None)\n"
                           "    return mu")],
                     WITHHELD,
                     ["the kernel's error reporting"]),
    # Replace the closeness checks the tests compare with, and answer wrongly.
    "patches_allclose": (A1, [("gaussian_kl", "    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)",
                               "    torch.allclose = lambda *args, **kwargs: True\n"
                               "    return mu.sum(1) * 0")],
                         WITHHELD,
                         ["replaces an attribute of the module torch"]),
    # Load course_lib's reference module a second time, around forbid(), and call its answer.
    "reloads_reference": (A1, [("gaussian_kl", "    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)",
                                "    import importlib.util, course_lib\n"
                                "    spec = importlib.util.spec_from_file_location(\"copy_of_vae\", course_lib.vae.__file__)\n"
                                "    module = importlib.util.module_from_spec(spec)\n"
                                "    spec.loader.exec_module(module)\n"
                                "    return module.gaussian_kl(mu, logvar)")],
                          WITHHELD,
                          ["module loading"]),
    # Rewrite the instructor's course_lib so that forbid() switches nothing off, for this and every later grading.
    "rewrites_course_lib": (A1, [("reparameterize", "    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)",
                                  "    import pathlib\n"
                                  "    import course_lib.grading\n"
                                  "    path = pathlib.Path(course_lib.grading.__file__)\n"
                                  "    path.write_text(path.read_text() + \"\\n# tampered\\n\")\n"
                                  "    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)")],
                            {"test_reparameterize": 0},
                            ["Read-only file system"]),
    # Through an alias the scan cannot follow, replace the grader's closeness check before the tests run, and
    # answer wrongly: the kernel guard puts check_close back before every cell, so the wrong answer fails.
    "aliases_check_close": (A1, [("likelihoods",
                                  "    return F.binary_cross_entropy_with_logits(logits, x, reduction=\"none\").flatten(1).sum(1)",
                                  "    return x.flatten(1).sum(1) * 0"),
                                 ("likelihoods", "    ### END SOLUTION\n\n\ndef gaussian_nll",
                                  "    ### END SOLUTION\n\n\ngrading = course_lib.grading\n"
                                  "grading.check_close = lambda *args, **kwargs: None\n\n\ndef gaussian_nll")],
                            {"test_bernoulli_nll": 0},
                            ["Bernoulli NLL with zero logits"]),
    # A correct answer that, through an alias, replaces torch.allclose while its test runs: tampering during a
    # test costs that part.
    "aliases_allclose": (A1, [("gaussian_kl", "    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)",
                               "    t = torch\n"
                               "    t.allclose = lambda *args, **kwargs: True\n"
                               "    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)")],
                         {"test_gaussian_kl": 0},
                         ["replaced what the grader relies on: torch.allclose"]),
}
