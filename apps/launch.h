// apps/launch.h — `nabla train ... --nproc N`: the command starts itself again under `mpirun -np N`, so a user gets a
// data-parallel run on this machine without writing the mpirun line (torchrun's --nproc_per_node).
#pragma once

namespace nabla::apps {

// When argv holds `--nproc N` (or --nproc=N) with N > 1 and this process was not started by mpirun (dist::init found
// no MPI job: call it first), replaces this
// process with `mpirun -np N <this program> <argv without --nproc>` (adding --allow-run-as-root for root, which
// OpenMPI otherwise refuses) and does not return; an Error when mpirun cannot be started. Otherwise returns.
void relaunch_under_mpirun(int argc, char** argv);

}  // namespace nabla::apps
