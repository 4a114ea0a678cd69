"""An agent's attempt, shared by both feedback modes (DESIGN §2.4): effective skill, p(correct), a wrong proposal."""
import taichi as ti


@ti.func
def effective_skill(c: ti.f32, shared: ti.f32) -> ti.f32:
    """Own competence or the shared category skill: e = 1 − (1 − c)(1 − S[q])."""
    return 1.0 - (1.0 - c) * (1.0 - shared)


@ti.func
def correct_probability(e: ti.f32, d: ti.f32, a: ti.i32, kappa: ti.f32, alpha: ti.f32, a_max: ti.i32,
                        p_min: ti.f32, p_max: ti.f32) -> ti.f32:
    """p = clip(e(1 − κd) + α·min(a, a_max), p_min, p_max): skill, difficulty and the pity bonus."""
    p = e * (1.0 - kappa * d) + alpha * ti.cast(ti.min(a, a_max), ti.f32)
    return ti.min(ti.max(p, p_min), p_max)


@ti.func
def wrong_proposal(disk: ti.i32, true_pair: ti.i32, u: ti.f32, n_pegs: ti.template()) -> ti.i32:
    """A wrong move of the same disk: a peg pair drawn uniformly from the others, packed disk·16 + src·4 + dst."""
    n_pairs = n_pegs * (n_pegs - 1)
    j = ti.min(ti.cast(u * ti.cast(n_pairs - 1, ti.f32), ti.i32), n_pairs - 2)
    if j >= true_pair:
        j += 1
    src = j // (n_pegs - 1)
    r = j % (n_pegs - 1)
    dst = r + ti.select(r >= src, 1, 0)
    return disk * 16 + src * 4 + dst
