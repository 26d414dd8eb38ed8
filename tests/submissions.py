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
