"""The consensus tick of one tile (DESIGN §2.8): votes, the first-to-ahead-by-k race, audit, accept, what managers see.

Compiled into `WorldsDevice.advance_worlds` only when the batch's feedback is "consensus" (`ti.static`), so verified
mode's kernel is unchanged. The NumPy twin is `engine.sim.consensus_reference.ConsensusReferenceWorlds`.
"""
import taichi as ti

from kernels import constants as K
from kernels.attempt import resolve_due_attempts, wrong_proposal
from kernels.records import BIN, VOTE, ZONE
from kernels.mathf import agent_key, log_f32, to_fixed, uniform

COMMITTED = 128  # bit of `cast` set when the attempt voted; the low bits hold its answer + 1 (0: nothing seen)


@ti.func
def pair_index(packed: ti.i32, n_pegs: ti.template()) -> ti.i32:
    """Answer index of a packed move: j = src·(P − 1) + dst − (dst > src)."""
    src, dst = (packed >> 2) & 3, packed & 3
    return src * (n_pegs - 1) + dst - ti.select(dst > src, 1, 0)


@ti.func
def packed_move(disk: ti.i32, pair: ti.i32, n_pegs: ti.template()) -> ti.i32:
    """The packed move (disk·16 + src·4 + dst) of answer `pair` for a move of `disk`."""
    src = pair // (n_pegs - 1)
    r = pair % (n_pegs - 1)
    return disk * 16 + src * 4 + r + ti.select(r >= src, 1, 0)


@ti.func
def nll_of(phat: ti.f32, label: ti.i32) -> ti.f32:
    """−[y log p̂ + (1 − y) log(1 − p̂)] for a 0/1 label."""
    nll = -log_f32(phat)
    if label == 0:
        nll = -log_f32(1.0 - phat)
    return nll


@ti.func
def vote_tile(dev: ti.template(), w, tile, k, tick):
    """Act every agent of one tile, race its votes in row-major cell order, audit and accept a decision, count."""
    G, t, L, P = ti.static(dev.G, dev.t, dev.L, dev.P)
    NP = ti.static(P * (P - 1))
    ty, tx = tile // L, tile % L
    zone = dev.tile_zone[tile]
    true_move = dev.move_packed[k]
    disk = true_move >> 4
    true_pair = pair_index(true_move, P)
    complete = dev.complete_tick[w, k] >= 0
    unlocked = dev.tile_ring[tile] <= dev.ctl[w].stage
    gated = (dev.params[w].order_prefix != 0) and (k > dev.world[w].prefix)
    is_open = unlocked and (not complete) and (not gated)
    active = dev.zone_active[w, zone] != 0
    oracle_up = dev.ctl[w].oracle_up != 0
    oracle_available = dev.ctl[w].oracle_available != 0
    learn_oracle = dev.params[w].learn_oracle != 0
    nll_oracle = dev.params[w].nll_oracle != 0
    k_ahead = dev.params[w].k_ahead
    w_oracle = dev.params[w].w_oracle
    shared = dev.skill[w, disk]
    key = dev.tick_key[w]

    acc = ti.Vector([0] * ti.static(len(ZONE)), dt=ti.i64)
    vacc = ti.Vector([0] * ti.static(len(VOTE)), dt=ti.i64)
    # 64-bit sums stay local inside the agent loop and are flushed once after it (docs/gpu.md)
    rel = ti.Vector([0] * (K.RELIABILITY_BINS * ti.static(len(BIN))), dt=ti.i64)
    k_right = 0
    k_wrong = 0
    decided = False
    decision = -1
    batch = dev.AttemptBatch(0)  # the due attempts' proposals and confidences
    if is_open:
        batch = resolve_due_attempts(dev, w, ty, tx, tick, key, shared, true_move, disk, true_pair, dev.params[w])
        acc[ZONE.resolved] += batch.count
        acc[ZONE.correct] += batch.correct
        acc[ZONE.nll_fx] += batch.nll_fx
        acc[ZONE.brier_fx] += batch.brier_fx
        acc[ZONE.phat_fx] += batch.phat_fx
        rel = batch.reliability
    for lane in range(t * t):
        n = (ty * t + lane // t) * G + tx * t + lane % t
        dev.turned[w, n] = ti.u8(0)
        dev.cast[w, n] = ti.u8(0)
        st = ti.cast(dev.state[w, n], ti.i32)
        if is_open and dev.alive[w, n] != 0:
            acc[ZONE.active] += 1
            c = dev.competence[w, n]
            a = dev.attempts[w, n]
            ak = agent_key(key, n)
            weight = 0
            vote = 0
            vote_fx = ti.i64(0)
            if st == K.WAITING:
                # 1. the oracle's answer, right or wrong, is w_oracle votes; the asker is Success
                if tick >= dev.due[w, n] and oracle_up:
                    acc[ZONE.oracle_answers] += 1
                    ok = uniform(ak, K.DRAW_ORACLE) < dev.params[w].oracle_ok
                    answer = true_move
                    if not ok:
                        answer = wrong_proposal(disk, true_pair, uniform(ak, K.DRAW_ORACLE_PAIR), P)
                        acc[ZONE.oracle_wrong] += 1
                    if nll_oracle:
                        label = ti.select(dev.proposal[w, n] == answer, 1, 0)
                        vacc[VOTE.nll_seen_fx] += to_fixed(nll_of(dev.confidence[w, n], label))
                        vacc[VOTE.nll_seen_n] += 1
                    c = c + dev.params[w].eta_oracle * (ti.select(ok, 1.0, 0.0) - c)
                    st = K.SUCCESS
                    dev.proposal[w, n] = answer
                    dev.turned[w, n] = ti.u8(1)
                    weight = w_oracle
                    vote = pair_index(answer, P)
                    vote_fx = ti.i64(int(K.FX_SCALE)) * ti.cast(w_oracle, ti.i64)
                    if learn_oracle:
                        if ok:
                            k_right += 1
                        else:
                            k_wrong += 1
            elif st == K.IDLE or st == K.FAILURE or st == K.SUCCESS:
                # 2. every free agent resamples, Success agents too
                if active:
                    st = K.WORKING
                    dev.due[w, n] = tick + dev.params[w].slm_latency
                    acc[ZONE.started] += 1
            elif st == K.WORKING and tick >= dev.due[w, n]:
                # its proposal, p̂, history and calibration are done (kernels.attempt.resolve_due_attempts)
                right = batch.right[lane] != 0
                proposal = batch.proposal[lane]
                z = batch.z[lane]
                y = batch.right[lane]
                phat = dev.confidence[w, n]
                if (not right) and uniform(ak, K.DRAW_RED_FLAG) < dev.params[w].red_flag:
                    st = K.FAILURE  # red flag: a malformed answer is discarded
                    a += 1
                    vacc[VOTE.red_flagged] += 1
                else:
                    cast = pair_index(proposal, P) + 1
                    if (z < dev.params[w].z_escalate and a >= dev.params[w].a_escalate
                            and oracle_available):
                        st = K.WAITING
                        dev.due[w, n] = tick + dev.params[w].oracle_latency
                        acc[ZONE.escalated] += 1
                        acc[ZONE.escalated_wrong] += 1 - y
                    elif z >= dev.params[w].z_commit:
                        st = K.SUCCESS  # commit: one vote
                        dev.turned[w, n] = ti.u8(1)
                        vacc[VOTE.votes] += 1
                        vacc[VOTE.votes_right] += y
                        weight = 1
                        vote = cast - 1
                        vote_fx = to_fixed(phat)
                        cast |= COMMITTED
                    else:
                        st = K.FAILURE  # abstain
                        a += 1
                        vacc[VOTE.abstained] += 1
                    dev.cast[w, n] = ti.cast(cast, ti.u8)
            dev.state[w, n] = ti.cast(st, ti.u8)
            dev.competence[w, n] = c
            dev.attempts[w, n] = a
            # 3. the race: this vote enters V now, unless the tile has already decided this tick
            if weight > 0 and not decided:  # the tile's own thread owns V: plain stores, no atomics
                dev.votes[w, tile, vote] = dev.votes[w, tile, vote] + weight
                dev.vote_phat[w, tile, vote] = dev.vote_phat[w, tile, vote] + vote_fx
                best_other = 0
                for j in ti.static(range(NP)):
                    if j != vote:
                        best_other = ti.max(best_other, dev.votes[w, tile, j])
                if dev.votes[w, tile, vote] - best_other >= k_ahead:
                    decided = True
                    decision = vote

    if decided:
        # 4. audit: one oracle call checks a doubtful decision; a rejection empties V and the tile stays open
        mode = dev.params[w].audit
        leader_votes = dev.votes[w, tile, decision]
        doubtful = False
        if mode == K.AUDIT_CONFIDENCE:
            doubtful = dev.vote_phat[w, tile, decision] < (ti.cast(dev.params[w].tau_audit_fx, ti.i64)
                                                           * ti.cast(leader_votes, ti.i64))
        elif mode == K.AUDIT_CONTESTED:
            for j in ti.static(range(NP)):
                if j != decision and dev.votes[w, tile, j] > 0:
                    doubtful = True
        rejected = False
        if doubtful and oracle_available:
            vacc[VOTE.audits] += 1
            first_cell = (ty * t) * G + tx * t
            check_ok = uniform(agent_key(key, first_cell), K.DRAW_AUDIT) < dev.params[w].oracle_ok
            rejected = check_ok != (decision == true_pair)
        if rejected:
            vacc[VOTE.audit_rejected] += 1
            for j in ti.static(range(NP)):
                dev.votes[w, tile, j] = 0
                dev.vote_phat[w, tile, j] = ti.i64(0)
        else:
            # 5. accept: compose the decision, right or wrong; the whole tile adopts it
            complete = True
            composed = packed_move(disk, decision, P)
            right = decision == true_pair
            dev.complete_tick[w, k] = tick
            dev.composed[w, k] = composed
            ti.atomic_add(dev.world[w].moves_done, ti.i64(1))
            acc[ZONE.completed_now] += 1
            if not right:
                vacc[VOTE.composed_wrong] += 1
            total = 0
            for j in ti.static(range(NP)):
                total += dev.votes[w, tile, j]
            vacc[VOTE.decision_votes] += total
            # 6. learning toward the label's correctness ℓ: the leader's counted votes teach the shared skill
            if not learn_oracle:
                if right:
                    k_right += leader_votes
                else:
                    k_wrong += leader_votes
            ell = ti.select(right, 1.0, 0.0)
            eta = dev.params[w].eta
            for a_i, a_j in ti.ndrange(t, t):
                n = (ty * t + a_i) * G + tx * t + a_j
                if dev.alive[w, n] != 0:
                    if dev.state[w, n] != K.SUCCESS:
                        dev.state[w, n] = ti.u8(K.SUCCESS)
                        acc[ZONE.adopted] += 1
                    dev.proposal[w, n] = composed
                    dev.turned[w, n] = ti.u8(1)
                    if not learn_oracle:
                        dev.competence[w, n] = dev.competence[w, n] + eta * (ell - dev.competence[w, n])

    # 7. what managers see: agreement with the tile's leader after the tally (ties: lowest answer, blind to truth)
    leader = -1
    top = 0
    for j in ti.static(range(NP)):
        v = dev.votes[w, tile, j]
        if v > top:
            top = v
            leader = j
    live = 0
    taught = 0
    for a_i, a_j in ti.ndrange(t, t):
        n = (ty * t + a_i) * G + tx * t + a_j
        st = ti.cast(dev.state[w, n], ti.i32)
        taught |= ti.cast(dev.turned[w, n], ti.i32)
        acc[ZONE.n_idle + st] += 1  # the n_<state> columns follow the state codes (kernels.records)
        if st != K.DEAD:
            live += 1
            acc[ZONE.competence_fx] += to_fixed(dev.competence[w, n])
        cast = ti.cast(dev.cast[w, n], ti.i32)
        if cast != 0:
            agrees = ti.select((cast & (COMMITTED - 1)) - 1 == leader, 1, 0)
            if (cast & COMMITTED) != 0:
                vacc[VOTE.agree] += agrees
            if not nll_oracle:
                vacc[VOTE.nll_seen_fx] += to_fixed(nll_of(dev.confidence[w, n], agrees))
                vacc[VOTE.nll_seen_n] += 1
    if not complete:
        if not gated:
            acc[ZONE.open_tiles] += 1
        if live >= 1:  # one live agent can decide a tile alone: it votes again and again
            acc[ZONE.completable] += 1
    for s in ti.static(range(len(ZONE))):
        if acc[s] != 0:
            ti.atomic_add(dev.zone_stats[w, zone, s], acc[s])
    for s in ti.static(range(len(VOTE))):
        if vacc[s] != 0:
            ti.atomic_add(dev.vote_stats[w, zone, s], vacc[s])
    for b in ti.static(range(K.RELIABILITY_BINS)):
        for s in ti.static(range(len(BIN))):
            if rel[b * ti.static(len(BIN)) + s] != 0:
                ti.atomic_add(dev.reliability[w, b, s], rel[b * ti.static(len(BIN)) + s])
    if k_right > 0:
        ti.atomic_add(dev.kq[w, disk], k_right)
    if k_wrong > 0:
        ti.atomic_add(dev.kq_wrong[w, disk], k_wrong)
    dev.tile_taught[w, tile] = ti.u8(taught)


@ti.func
def power_by_squaring(base: ti.f32, exponent: ti.i32) -> ti.f32:
    """base^exponent in float32, by squaring (the same order as the reference)."""
    power = ti.f32(1.0)
    kk = exponent
    b = base
    while kk > 0:
        if kk & 1:
            power = power * b
        b = b * b
        kk = kk >> 1
    return power


@ti.func
def learn_shared_skill_from_votes(dev: ti.template(), w, q):
    """S ← 1 − (1 − S)(1 − η_shared)^k_right, then S ← S·(1 − η_shared)^k_wrong (a wrong consensus teaches wrong)."""
    base = 1.0 - dev.params[w].eta_shared
    s = 1.0 - (1.0 - dev.skill[w, q]) * power_by_squaring(base, dev.kq[w, q])
    dev.skill[w, q] = s * power_by_squaring(base, dev.kq_wrong[w, q])
